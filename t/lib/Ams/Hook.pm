package Ams::Hook;

# A webhook receiver: a small HTTP server in a child process that appends
# each request's body (one line per request) to a file and answers 200,
# or 500 to the first "fail_first" requests (to see retries).

use strict;
use warnings;

use IO::Socket::INET;
use Ams::Media qw(slurp);

sub new {
    my ($class, %o) = @_;
    my $file = $o{file} // die 'file';
    my $server = IO::Socket::INET->new(
        Listen => 16, LocalAddr => '127.0.0.1', LocalPort => 0,
        Proto => 'tcp', ReuseAddr => 1,
    ) or die "hook: $!";
    my $port = $server->sockport;

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $n = 0;
        while (my $c = $server->accept) {
            my ($head, $len) = ('', 0);
            while (my $line = <$c>) {
                $head .= $line;
                $len = $1 if $line =~ /^Content-Length:\s*(\d+)/i;
                last if $line =~ /^\r?\n\z/;
            }
            my $body = '';
            read $c, $body, $len if $len;
            my ($uri) = $head =~ /^POST (\S+)/;
            my ($type) = $head =~ /^Content-Type:\s*([^\r\n]+)/mi;
            my $status = $n++ < ($o{fail_first} // 0) ? 500 : 200;
            if (open my $fh, '>>', $file) {
                print $fh "$status $type $body\n";
                close $fh;
            }
            print $c "HTTP/1.1 $status X\r\nContent-Length: 0\r\n"
                . "Connection: close\r\n\r\n";
            close $c;
        }
        exit 0;
    }
    close $server;
    return bless { pid => $pid, port => $port, file => $file, owner => $$ },
        $class;
}

sub url { "http://127.0.0.1:$_[0]{port}" . ($_[1] // '/hook') }

# the bodies received, in order, each "STATUS TYPE BODY"
sub received {
    my ($self) = @_;
    return split /\n/, slurp($self->{file}) // '';
}

sub DESTROY {
    my ($self) = @_;
    # a forked child's copy: the server is its parent's to stop
    return if ($self->{owner} // $$) != $$;
    local $?;
    if ($self->{pid}) {
        kill 'KILL', $self->{pid};
        waitpid $self->{pid}, 0;
    }
}

1;
