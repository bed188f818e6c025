package Ams::Mongo;

# A MongoDB wire server for the tests: CongoDB, the pure-JavaScript one in
# @push.rocks/smartmongo (t/mongo/, installed by ./build.sh deps), memory
# only, on a free loopback port.  Debian has no MongoDB server; this one
# speaks OP_MSG to libmongoc.  What it does not do as MongoDB does: a
# string or integer _id, unique indexes (made, not enforced), int64 (read
# back as doubles), persistence (a restart empties it).
#
#   my $db = Ams::Mongo->new;           # started
#   $db->uri('?appname=x')              # mongodb://127.0.0.1:PORT/?appname=x
#   $db->stop; $db->start;              # an outage: same port, empty
#   $db->restart;

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use Scalar::Util ();
use Ams::Nginx ();

my $DIR = File::Spec->rel2abs(dirname(__FILE__) . '/../../mongo');

# every server started, stopped when the test ends
my @running;
END {
    local $?;
    $_ && $_->stop for @running;
}

# whether the wire server can run here: '' when it can, else why not
sub unavailable {
    return 'node is not installed'
        unless grep { -x "$_/node" } split /:/, $ENV{PATH} // '';
    return "$DIR/node_modules is missing: run ./build.sh deps"
        unless -d "$DIR/node_modules/\@push.rocks/smartmongo";
    return '';
}

# Options: port (a free one by default), host (127.0.0.1).
sub new {
    my ($class, %args) = @_;
    my $self = bless {
        owner => $$,
        host => '127.0.0.1',
        %args,
    }, $class;
    $self->{port} //= Ams::Nginx::free_port();
    push @running, $self;
    Scalar::Util::weaken($running[-1]);
    $self->start;
    return $self;
}

sub port { $_[0]{port} }
sub host { $_[0]{host} }

sub uri {
    my ($self, $rest) = @_;
    return "mongodb://$self->{host}:$self->{port}/" . ($rest // '');
}

sub start {
    my ($self) = @_;
    return $self if $self->{pid};

    my $log = $self->{log} //= File::Spec->catfile(
        File::Spec->tmpdir, "ams-congodb-$$-$self->{port}.log");

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', $log or die "$log: $!";
        open STDERR, '>&', \*STDOUT;
        chdir $DIR or die "$DIR: $!";
        exec 'node', 'server.mjs', $self->{port}, $self->{host};
        die "node: $!";
    }
    $self->{pid} = $pid;

    # ready when it prints so and accepts connections
    my $deadline = time + 20;
    until ($self->_listening) {
        if (waitpid($pid, WNOHANG) == $pid) {
            delete $self->{pid};
            die "the wire server exited: " . _slurp($log);
        }
        die "the wire server did not come up: " . _slurp($log)
            if time > $deadline;
        sleep 0.05;
    }

    return $self;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;

    kill 'TERM', $pid;
    my $deadline = time + 5;
    while (waitpid($pid, WNOHANG) == 0) {
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid $pid, 0;
            last;
        }
        sleep 0.02;
    }
}

sub restart {
    my ($self) = @_;
    $self->stop;
    return $self->start;
}

sub running { $_[0]{pid} ? 1 : 0 }

sub _listening {
    my ($self) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $self->{host},
                                  PeerPort => $self->{port},
                                  Proto => 'tcp') or return 0;
    close $s;
    return 1;
}

sub _slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    return <$fh> // '';
}

sub DESTROY {
    my ($self) = @_;
    # a forked child's copy: the server is its parent's to stop
    return if ($self->{owner} // $$) != $$;
    local $?;
    $self->stop;
    unlink $self->{log} if $self->{log} && !$ENV{AMS_KEEP};
}

1;
