package Ams::TestNginx;

# A small runner for Test::Nginx-style blocks (Test::Nginx itself is not
# packaged for Debian).  Each block starts its own nginx (Ams::Nginx) and
# makes one HTTP request.
#
#   === TEST 1: title
#   --- top_config          (before events {}: load_module lines, ...)
#   --- main_config         (replaces the default ams {} block if it has one)
#   --- stream_config       (inside stream {})
#   --- http_config         (inside http {})
#   --- config              (inside the test server {})
#   --- modules             (ours to load: "core ingest api"; all by default)
#   --- request             (GET /path; "$HTTP_PORT" etc. expand)
#   --- more_headers        (extra request header lines)
#   --- error_code: 200
#   --- response_body       (exact)
#   --- response_body_like  (a regex)
#   --- error_log           (lines that must be in error.log)
#   --- no_error_log        (lines that must not be)
#   --- must_die            (nginx must refuse the configuration; error_log
#                            lines are then looked for in its complaint)

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;
use Test::More;
use Ams::Nginx;

our @EXPORT = qw(run_blocks blocks);

sub blocks {
    my $data = do { no strict 'refs'; local $/; my $fh = \*{'main::DATA'}; <$fh> };
    my @blocks;

    for my $chunk (split /^=== /m, $data) {
        next unless $chunk =~ /\S/;
        my ($title, $rest) = split /\n/, $chunk, 2;
        my %b = (title => $title);
        $rest //= '';

        while ($rest =~ /^--- (\w+)(?::[ \t]*(.*))?\n((?:(?!--- \w).*\n)*)/mg) {
            my ($name, $inline, $body) = ($1, $2, $3);
            $b{$name} = defined $inline && length $inline ? $inline : $body;
        }

        push @blocks, \%b;
    }

    return @blocks;
}

sub http_request {
    my ($port, $request, $headers) = @_;
    my ($line) = split /\n/, $request;
    my ($method, $uri) = split ' ', $line;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 10)
        or return (0, '', '');

    $headers //= '';
    $headers =~ s/\s+$//;
    $headers .= "\r\n" if length $headers;
    $headers =~ s/(?<!\r)\n/\r\n/g;

    print $s "$method $uri HTTP/1.0\r\nHost: localhost\r\n$headers\r\n";

    local $/;
    my $resp = <$s> // '';
    close $s;

    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    my ($code) = ($head // '') =~ m{^HTTP/\d\.\d (\d+)};
    return ($code // 0, $body // '', $head // '');
}

sub _lines {
    my ($text) = @_;
    return grep { length } map { s/^\s+|\s+$//gr } split /\n/, $text // '';
}

sub run_blocks {
    my @blocks = blocks();

    for my $b (@blocks) {
        subtest $b->{title} => sub {
            my $ng = Ams::Nginx->new(
                top_config    => $b->{top_config},
                main_config   => $b->{main_config},
                stream_config => $b->{stream_config},
                http_config   => $b->{http_config},
                config        => $b->{config},
                ($b->{modules}
                 ? (modules => [ split ' ', $b->{modules} ]) : ()),
            );

            my ($ok, $why) = $ng->try_start;

            if (exists $b->{must_die}) {
                ok(!$ok, 'nginx refuses the configuration');
                for my $l (_lines($b->{error_log})) {
                    like($why, qr/\Q$l\E/, "complaint has \"$l\"");
                }
                return;
            }

            ok($ok, 'nginx starts') or diag($why), return;

            if (defined $b->{request}) {
                my $req = $ng->expand($b->{request});
                my ($code, $body, $head) = http_request($ng->http_port, $req,
                    $ng->expand($b->{more_headers}));

                is($code, $b->{error_code} // 200, 'status code')
                    if defined $b->{error_code} || !exists $b->{error_code};

                if (defined $b->{response_body}) {
                    is($body, $ng->expand($b->{response_body}),
                       'response body');
                }

                if (defined $b->{response_body_like}) {
                    my $re = $b->{response_body_like};
                    $re =~ s/\s+$//;
                    like($body, qr/$re/s, 'response body matches');
                }
            }

            $ng->stop;
            my $log = $ng->error_log;

            for my $l (_lines($b->{error_log})) {
                like($log, qr/\Q$l\E/, "error.log has \"$l\"");
            }

            is($ng->crashes, '', 'no worker crashed');

            for my $l (_lines($b->{no_error_log})) {
                unlike($log, qr/\Q$l\E/, "error.log lacks \"$l\"");
            }
        };
    }

    done_testing();
}

1;
