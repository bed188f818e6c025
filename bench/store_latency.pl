#!/usr/bin/perl
# Publish-start to "the stream is known": from the moment an RTMP client
# sends "publish" to (ams) the REST API answering its record as
# broadcasting, or (rtmp) nginx-rtmp's on_publish callback arriving at a
# local HTTP listener.  Prints one line per try: milliseconds.
#
#   store_latency.pl ams PORT_RTMP PORT_HTTP TRIES
#   store_latency.pl rtmp PORT_RTMP PORT_HOOK TRIES

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use Ams::Rtmp;

my ($kind, $rtmp_port, $http_port, $tries) = @ARGV;

sub http_get {
    my ($s, $path) = @_;
    print $s "GET $path HTTP/1.1\r\nHost: b\r\n\r\n";
    my ($head, $len) = ('', 0);
    while (my $l = <$s>) {
        $head .= $l;
        $len = $1 if $l =~ /^Content-Length: (\d+)/i;
        last if $l eq "\r\n";
    }
    my $body;
    read($s, $body, $len);
    return $body // '';
}

my $hook = $kind eq 'rtmp'
    ? IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                            LocalPort => $http_port, ReuseAddr => 1)
    : undef;

for my $i (1 .. $tries) {
    my $name = sprintf 'lat%d_%d', $$, $i;
    my $c = Ams::Rtmp->new($rtmp_port);
    $c->handshake;
    $c->connect_app('LiveApp');
    $c->command(Ams::Rtmp::amf_string('createStream'),
                Ams::Rtmp::amf_number(2), Ams::Rtmp::amf_null());
    $c->read_for(0.2);

    my $http = $kind eq 'ams'
        ? IO::Socket::INET->new("127.0.0.1:$http_port") : undef;

    my $t0 = time;
    $c->message(type => 20, msid => 1, payload => join '',
                Ams::Rtmp::amf_string('publish'), Ams::Rtmp::amf_number(3),
                Ams::Rtmp::amf_null(), Ams::Rtmp::amf_string($name),
                Ams::Rtmp::amf_string('live'));
    my $t1;

    if ($kind eq 'ams') {
        while (time - $t0 < 5) {
            my $b = http_get($http, "/LiveApp/rest/v2/broadcasts/$name");
            if ($b =~ /"status":"broadcasting"/) { $t1 = time; last }
        }
    } else {
        my $sel = IO::Select->new($hook);
        while (time - $t0 < 5 && $sel->can_read(5 - (time - $t0))) {
            my $h = $hook->accept;
            my $req = '';
            while (my $l = <$h>) { $req .= $l; last if $l eq "\r\n" }
            my $len = $req =~ /Content-Length: (\d+)/i ? $1 : 0;
            read $h, my $body, $len if $len;
            print $h "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
            close $h;
            if (($body // '') =~ /name=\Q$name\E/) { $t1 = time; last }
        }
    }

    printf "%.2f\n", defined $t1 ? ($t1 - $t0) * 1000 : -1;
    close $c->{sock} if $c->{sock};
    sleep 0.05;
}
