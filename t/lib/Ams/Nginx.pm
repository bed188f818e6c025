package Ams::Nginx;

# Starts a real nginx with the nginx-ams modules loaded, on free loopback
# ports, with its prefix in a temporary directory.  Used by the
# Test::Nginx-style block runner (Ams::TestNginx) and by the end-to-end
# Test::More scenarios.

use strict;
use warnings;

use File::Temp qw(tempdir);
use File::Path qw(make_path);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use Ams::Media ();
use Scalar::Util qw(weaken);

# every nginx started, stopped before File::Temp removes its prefix (END
# blocks run last-defined first, and File::Temp's was defined before ours)
my @running;
END {
    local $?;
    $_ && $_->stop for @running;
}

my $MODULES = $ENV{AMS_MODULES}
    || die "AMS_MODULES is not set: run the suite with ./build.sh test\n";

sub free_port {
    my $s = IO::Socket::INET->new(
        Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0,
        Proto => 'tcp', ReuseAddr => 1,
    ) or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# Options: main_config (holds the ams {} block; a default one otherwise),
# applications (application {} blocks for the default ams {} block, in
# place of its LiveApp), stream_config, http_config (inside http {}),
# config (inside a server {} listening on $HTTP_PORT), workers, log_level,
# modules (which of ours to load, in order: [qw(core ingest packager api)]
# by default), top_config (right after the load_module lines, before
# events {}).
sub new {
    my ($class, %args) = @_;

    my $prefix = tempdir('ams-test-XXXXXX', TMPDIR => 1,
                         CLEANUP => !$ENV{AMS_KEEP});
    chmod 0755, $prefix;

    my $self = bless {
        owner => $$,
        workers   => 1,
        log_level => 'info',
        %args,
        prefix    => $prefix,
        ports     => {
            RTMP_PORT  => free_port(),
            RTMPS_PORT => free_port(),
            HTTP_PORT  => free_port(),
        },
    }, $class;

    make_path("$prefix/logs", "$prefix/temp", "$prefix/media");
    # workers run as nginx's unprivileged user and write the HLS files
    chmod 0777, "$prefix/media";

    return $self;
}

sub prefix { $_[0]{prefix} }
sub media { "$_[0]{prefix}/media" }
sub port { $_[0]{ports}{ $_[1] } }
sub rtmp_port { $_[0]{ports}{RTMP_PORT} }
sub http_port { $_[0]{ports}{HTTP_PORT} }
sub rtmps_port { $_[0]{ports}{RTMPS_PORT} }

sub expand {
    my ($self, $text) = @_;
    return '' unless defined $text;
    $text =~ s/\$(RTMP_PORT|RTMPS_PORT|HTTP_PORT)\b/$self->{ports}{$1}/g;
    $text =~ s/\$PREFIX\b/$self->{prefix}/g;
    $text =~ s/\$MODULES\b/$MODULES/g;
    $text =~ s/\$MEDIA\b/$self->{prefix}\/media/g;
    return $text;
}

sub default_ams {
    my ($applications) = @_;
    $applications //= <<'EOF';
application LiveApp {
    delete_hls_files_on_ended  off;
}
EOF
    return <<"EOF";
ams {
    storage        \$MEDIA;
    thread_pool    ams;
    bus_zone_size  128m;
    # the suite loads a shared machine: only t/resource_limits.t limits
    cpu_limit      100;
    memory_limit   100;

$applications
}
EOF
}

sub default_stream {
    return <<'EOF';
server {
    listen  127.0.0.1:$RTMP_PORT;
    ams_rtmp;
}
EOF
}

sub default_server {
    return <<'EOF';
location ~ ^/[^/]+/streams/ {
    root  $MEDIA;
    ams_media  on;
    types {
        application/vnd.apple.mpegurl  m3u8;
        video/mp2t                     ts;
        application/dash+xml           mpd;
        video/mp4                      mp4 m4s;
    }
    add_header  Cache-Control  no-cache;
}
location ~ ^/[^/]+/rest/ {
    ams_rest;
}
location /rest/ {
    ams_rest;
}
location = /metrics {
    ams_metrics;
}
EOF
}

sub render {
    my ($self) = @_;
    my $p = $self->{prefix};

    my $main = $self->{main_config} // '';
    $main = default_ams($self->{applications}) . $main
        unless $main =~ /^\s*ams\s*\{/m;

    my $stream = $self->{stream_config} // default_stream();
    my $server = $self->{config} // default_server();
    my $http = $self->{http_config} // '';

    my $load = join '', map { "load_module $MODULES/ngx_ams_${_}_module.so;\n" }
        @{ $self->{modules} // [qw(core ingest packager api)] };

    my $top = $self->{top_config} // '';

    my $conf = <<"EOF";
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
$load
$top
worker_processes  $self->{workers};
pid               $p/nginx.pid;
error_log         $p/logs/error.log $self->{log_level};

events {
    worker_connections  2048;
}

thread_pool  ams threads=2;

$main

stream {
$stream
}

http {
    access_log             $p/logs/access.log;
    client_body_temp_path  $p/temp/body;
    proxy_temp_path        $p/temp/proxy;
    fastcgi_temp_path      $p/temp/fastcgi;
    uwsgi_temp_path        $p/temp/uwsgi;
    scgi_temp_path         $p/temp/scgi;

$http

    server {
        listen  127.0.0.1:\$HTTP_PORT;
$server
    }
}
EOF
    return $self->expand($conf);
}

sub nginx_cmd {
    my ($self, @extra) = @_;
    my $p = $self->{prefix};
    my @env = $ENV{AMS_PRELOAD} ? ("LD_PRELOAD=$ENV{AMS_PRELOAD}") : ();
    return (@env ? ('env', @env) : ()),
        'nginx', '-p', "$p/", '-c', "$p/nginx.conf", '-e',
        "$p/logs/error.log", @extra;
}

# Starts nginx; returns (1, '') or (0, its complaint).
sub try_start {
    my ($self) = @_;
    my $p = $self->{prefix};

    open my $fh, '>', "$p/nginx.conf" or die "$p/nginx.conf: $!";
    print $fh $self->render;
    close $fh;

    my $cmd = join ' ', map { quotemeta } $self->nginx_cmd;
    my $out = `$cmd 2>&1`;
    return (0, $out) if $? != 0;

    $self->{started} = 1;
    push @running, $self;
    weaken($running[-1]);

    my $deadline = time + 10;
    until ($self->pid && $self->_listening) {
        return (0, "nginx did not come up:\n" . $self->error_log)
            if time > $deadline;
        sleep 0.05;
    }

    return (1, '');
}

sub start {
    my ($self) = @_;
    my ($ok, $why) = $self->try_start;
    die "nginx failed to start: $why\n" unless $ok;
    return $self;
}

sub _listening {
    my ($self) = @_;
    for my $port ($self->http_port) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp')
            or return 0;
        close $s;
    }
    return 1;
}

sub pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{prefix}/nginx.pid" or return $self->{master};
    my $pid = <$fh>;
    close $fh;
    chomp $pid if defined $pid;
    $self->{master} = $pid if $pid;
    return $pid;
}

sub worker_pids {
    my ($self) = @_;
    my $master = $self->pid or return ();
    my @pids = `pgrep -P $master`;
    chomp @pids;
    return @pids;
}

sub reload {
    my ($self) = @_;
    my $cmd = join ' ', map { quotemeta } $self->nginx_cmd('-s', 'reload');
    my $out = `$cmd 2>&1`;
    die "reload failed: $out" if $?;
}

sub error_log {
    my ($self) = @_;
    return Ams::Media::slurp("$self->{prefix}/logs/error.log") // '';
}

# Lines that show a worker died or a sanitizer complained: '' when none.
sub crashes {
    my ($self) = @_;
    return join "\n", grep { /exited on signal|AddressSanitizer|runtime error:|\[alert\]|\[emerg\]/ }
        split /\n/, $self->error_log;
}

sub stop {
    my ($self) = @_;
    return unless $self->{started};
    $self->{started} = 0;

    my $pid = $self->pid or return;
    kill 'TERM', $pid;

    my $deadline = time + 10;
    while (kill 0, $pid) {
        if (time > $deadline) {
            kill 'KILL', $pid;
            last;
        }
        sleep 0.05;
    }
}

sub DESTROY {
    my ($self) = @_;
    # a forked child's copy: the server is its parent's to stop
    return if ($self->{owner} // $$) != $$;
    local $?;
    $self->stop;
}

1;
