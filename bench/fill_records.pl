#!/usr/bin/perl
# Creates COUNT broadcast records PREFIX1..PREFIXCOUNT (zero-padded to
# WIDTH digits) through POST /LiveApp/rest/v2/broadcasts/create, one
# request in flight, keep-alive, each request in one write (a client that
# sends headers and body apart waits out delayed ACKs).  Prints the rate.
#
#   fill_records.pl PORT COUNT PREFIX [WIDTH]

use strict;
use warnings;

use IO::Socket::INET;
use Time::HiRes qw(time);

my ($port, $n, $prefix, $width) = @ARGV;
$width //= 0;

my ($s, $t) = (undef, time);
for my $i (1 .. $n) {
    # nginx closes a keep-alive connection after 1000 requests
    $s = IO::Socket::INET->new("127.0.0.1:$port") or die "$!"
        if $i % 500 == 1;
    my $id = sprintf "%s%0*d", $prefix, $width, $i;
    my $body = qq({"streamId":"$id","name":"Camera $id",)
        . q("description":"bench record"});
    print $s "POST /LiveApp/rest/v2/broadcasts/create HTTP/1.1\r\n"
        . "Host: b\r\nContent-Type: application/json\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my ($head, $len) = ('', 0);
    while (my $l = <$s>) {
        $head .= $l;
        $len = $1 if $l =~ /^Content-Length: (\d+)/i;
        last if $l eq "\r\n";
    }
    my $resp;
    read($s, $resp, $len);
    die "create: $head$resp\n" unless $head =~ m{^HTTP/1.1 200};
}
printf "created %d records, %.0f creates/s (one client, keep-alive)\n",
    $n, $n / (time - $t);
