# One stream's name can never take another's files.  With DASH on, a
# stream "victim.m3u8" would have made the directory streams/victim.m3u8/,
# the very path of stream "victim"'s playlist: its packager stopped and the
# playlist answered 301.  Names ending in the packager's suffixes are
# refused at publish, with a log line; a path in the way that the packager
# did not make stops that stream's packaging only; temporary files are
# written where no location serves them.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $ng = Ams::Nginx->new(applications => <<'EOF2')->start;
application LiveApp {
    hls_time                   1s;
    dash                       on;
    delete_hls_files_on_ended  off;
}
EOF2

my $port = $ng->rtmp_port;
my $dir = $ng->media . '/LiveApp/streams';
my $http = 'http://127.0.0.1:' . $ng->http_port . '/LiveApp/streams';

sub get {
    my ($url) = @_;
    my $out = `curl -s -o - -w '\\n%{http_code}' '$url'`;
    my ($body, $code) = $out =~ /\A(.*)\n(\d+)\z/s;
    return ($code // 0, $body // '');
}

# --- a name that would take another stream's files -------------------------

my $bad = publish("rtmp://127.0.0.1:$port/LiveApp/victim.m3u8", seconds => 4,
                  size => '320x240', rate => 25,
                  log => $ng->prefix . '/bad.log');
isnt(wait_publisher($bad, 20), 0, 'publishing "victim.m3u8" is refused');
ok(poll_until(sub {
       $ng->error_log =~ /stream name "victim\.m3u8" refused: ends in a suffix/
   }, 5), 'with a log line that says why');
ok(!-e "$dir/victim.m3u8", 'and nothing was made of it');

my $victim = publish("rtmp://127.0.0.1:$port/LiveApp/victim", seconds => 5,
                     size => '320x240', rate => 25);
my ($code, $body) = (0, '');
poll_until(sub {
    ($code, $body) = get("$http/victim.m3u8");
    $code == 200 && $body =~ /#EXTINF/;
}, 15);
is($code, 200, 'the playlist of "victim" answers 200');
like($body, qr/^#EXTM3U/, 'and is a playlist');
ok(poll_until(sub { -s "$dir/victim/victim.mpd" }, 10),
   'its DASH MPD is written too');
is(wait_publisher($victim, 30), 0, '"victim" published');
like(wait_closed("$dir/victim.m3u8"), qr/#EXT-X-ENDLIST/,
     'and its playlist was closed');

for my $name (qw(x_adaptive x.ts .hidden x_720p2500kbps)) {
    my $p = publish("rtmp://127.0.0.1:$port/LiveApp/$name", seconds => 2,
                    size => '160x120', rate => 10,
                    log => $ng->prefix . '/bad.log');
    isnt(wait_publisher($p, 20), 0, "\"$name\" is refused too");
}

# --- a path in the way ------------------------------------------------------

# a file where the stream's DASH directory should be: not what we made
open my $fh, '>', "$dir/blocked" or die "$dir/blocked: $!";
print $fh "not a directory\n";
close $fh;

my $blocked = publish("rtmp://127.0.0.1:$port/LiveApp/blocked", seconds => 5,
                      size => '320x240', rate => 25);
my $other = publish("rtmp://127.0.0.1:$port/LiveApp/other", seconds => 5,
                    size => '320x240', rate => 25);

ok(poll_until(sub {
       $ng->error_log =~ m{"blocked" stopped: "[^"]*/streams/blocked" exists and is not a directory}
   }, 15), 'the stream whose directory is taken stops packaging, saying why')
    or diag(substr($ng->error_log, -2000));
is(wait_publisher($blocked, 30), 0, 'its publisher is not disturbed');
is(wait_publisher($other, 30), 0, 'nor another one');
like(wait_closed("$dir/other/other.mpd"), qr/type="static"/,
     'the other stream is packaged to its end');
is(slurp("$dir/blocked"), "not a directory\n", 'the file in the way is left');
unlike($ng->error_log, qr/"other" stopped/, 'the other stream never stopped');

# --- temporary files --------------------------------------------------------

ok(-d $ng->media . '/LiveApp/.tmp',
   'temporary files are written in LiveApp/.tmp, beside streams/');
my @tmp = grep { /\.tmp|XXXX/ } map { s{.*/}{}r } glob("$dir/* $dir/.* $dir/*/* $dir/*/.*");
is("@tmp", '', 'none is left under streams/');

open $fh, '>', "$dir/.other.m3u8.tmp" or die;
print $fh "#EXTM3U\n";
close $fh;
($code) = get("$http/.other.m3u8.tmp");
is($code, 404, 'a file no stream owns is not served');

# --- a record that no publisher could take -----------------------------------

my ($st, $doc) = rest($ng, 'POST', '/LiveApp/rest/v2/broadcasts/create',
                      body => { streamId => 'other.mpd', name => 'x' });
is($st, 400, 'REST create of "other.mpd" is refused');
like($doc && $doc->{message} // '', qr/invalid stream id/, 'saying why');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
