package Ams::Rest;

# The REST API as a user's script sees it: curl sends the request, the
# answer comes back as (status, decoded JSON or undef, raw body).  Also
# HS256 JWTs for the JWT-protected cases, made with core Perl only.

use strict;
use warnings;

use Exporter 'import';
use JSON::PP;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url);
use File::Temp qw(tempfile);

our @EXPORT = qw(rest jwt_hs256);

my $json = JSON::PP->new->utf8->canonical;

# rest($ng, 'GET', '/LiveApp/rest/v2/broadcasts/x', body => '{...}' or
# hashref, headers => [...], cookies => FILE)
sub rest {
    my ($ng, $method, $path, %o) = @_;
    my @cmd = ('curl', '-s', '-S', '-X', $method, '-o', '-',
               '-w', '\n%{http_code}', '--max-time', '20');

    my ($fh, $file);
    if (defined $o{body}) {
        my $body = ref $o{body} ? $json->encode($o{body}) : $o{body};
        ($fh, $file) = tempfile(UNLINK => 1);
        binmode $fh;
        print $fh $body;
        close $fh;
        push @cmd, '-H', 'Content-Type: application/json',
            '--data-binary', "\@$file";
    }
    push @cmd, map { ('-H', $_) } @{ $o{headers} // [] };
    push @cmd, '-b', $o{cookies}, '-c', $o{cookies} if $o{cookies};
    push @cmd, 'http://127.0.0.1:' . $ng->http_port . $path;

    open my $out, '-|', @cmd or die "curl: $!";
    local $/;
    my $text = <$out>;
    close $out;

    my ($raw, $status) = $text =~ /\A(.*)\n(\d+)\z/s
        or return (0, undef, $text);
    my $doc = eval { $json->decode($raw) };
    return ($status, $doc, $raw);
}

sub jwt_hs256 {
    my ($claims, $key) = @_;
    my $h = encode_base64url($json->encode({ alg => 'HS256', typ => 'JWT' }));
    my $p = encode_base64url($json->encode($claims));
    my $s = encode_base64url(hmac_sha256("$h.$p", $key));
    return "$h.$p.$s";
}

1;
