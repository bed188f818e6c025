package Ams::Podman;

# Container images for the tests, built with podman (Debian's; no Docker
# engine here).  No registry is reachable, so the base is Debian 12 made
# with debootstrap from the apt mirror and imported once as
# localhost/debian:bookworm; the Dockerfile takes it as its BASE argument
# (debian:bookworm-slim for everyone else).  Builds run on the host's
# network (the sandbox's bridge has no route out) and keep podman's layer
# cache, so a second test's build of the same tree takes seconds.
#
#   my $why = Ams::Podman::unavailable() and plan skip_all => $why;
#   my $image = Ams::Podman::image();          # localhost/nginx-ams:test
#   Ams::Podman::podman(qw(run -d ...));       # output, dies on failure
#   Ams::Podman::build('t/container/wire', 'localhost/x:test');

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use File::Temp ();
use Time::HiRes qw(time);

our $ROOT = File::Spec->rel2abs(dirname(__FILE__) . '/../../..');
our $BASE = $ENV{AMS_IMAGE_BASE} // 'localhost/debian:bookworm';
our $IMAGE = 'localhost/nginx-ams:test';

$ENV{CONTAINERS_CONF} //= "$ROOT/t/container/containers.conf";

sub have { grep { -x "$_/$_[0]" } split /:/, $ENV{PATH} // '' }

# '' when images can be built and run here, else why not
sub unavailable {
    return 'the AddressSanitizer pass: the image builds its own modules'
        if ($ENV{AMS_ASAN} // '') eq '1' || $ENV{AMS_PRELOAD};
    return 'podman is not installed (./build.sh deps)' unless have('podman');
    return 'podman needs root here (rootless has no subuid ranges)' if $>;
    return 'debootstrap is not installed (./build.sh deps)'
        unless have('debootstrap') || $ENV{AMS_IMAGE_BASE};
    return '';
}

# podman's output; dies with it when podman fails
sub podman {
    my @args = @_;
    my $out = qx(podman @{[map { quote($_) } @args]} 2>&1);
    die "podman @args: exit " . ($? >> 8) . "\n$out" if $?;
    return $out;
}

sub quote {
    my ($s) = @_;
    return $s if $s =~ m{^[\w./:=,@%+-]+$};
    $s =~ s/'/'\\''/g;
    return "'$s'";
}

sub exists_image {
    system("podman image exists " . quote($_[0]) . " >/dev/null 2>&1") == 0;
}

# the local Debian 12 base, made once per machine
sub base {
    return $BASE if exists_image($BASE);
    my $dir = File::Temp->newdir;
    my $mirror = $ENV{AMS_DEBIAN_MIRROR} // 'http://deb.debian.org/debian';
    system("debootstrap --variant=minbase bookworm $dir/root $mirror"
        . " >$dir/log 2>&1") == 0
        or die "debootstrap failed:\n" . `tail -20 $dir/log`;
    system("tar -C $dir/root -c . | podman import -q - $BASE >/dev/null") == 0
        or die "podman import of the base failed";
    return $BASE;
}

# Builds $context (a directory; its Dockerfile, or $args{file}) as $tag.
# Returns the seconds the build took.
sub build {
    my ($context, $tag, %args) = @_;
    my $base = base();
    my $t0 = time;
    my @cmd = ('podman', 'build', '--network', 'host', '--format', 'docker',
        '--build-arg', "BASE=$base", '-t', $tag,
        $args{file} ? ('-f', $args{file}) : (), $context);
    my $log = File::Temp->new;
    system(join(' ', map { quote($_) } @cmd) . " >$log 2>&1") == 0
        or die "podman build of $context failed:\n" . `tail -40 $log`;
    return time - $t0;
}

# the nginx-ams image of this tree (the top-level Dockerfile)
my $built;
sub image {
    $built //= build($ROOT, $IMAGE);
    return $IMAGE;
}

sub build_seconds { $built }

# the image's size in bytes
sub size {
    my ($tag) = @_;
    my $out = podman('image', 'inspect', '--format', '{{.Size}}', $tag);
    $out =~ /(\d+)/ or die "no size for $tag: $out";
    return $1;
}

# Removes containers by name, whatever state they are in, with the
# anonymous volumes the image's VOLUME gave them.
sub remove {
    system('podman rm -f -v -t 0 ' . join(' ', map { quote($_) } @_)
        . ' >/dev/null 2>&1') if @_;
}

1;
