# Stopping the node with publishers connected: a clean stop is not a
# crash.  "nginx -s quit" finishes within worker_shutdown_timeout even
# with a 24/7 publisher, and after it (and after a fast stop, SIGTERM, as
# Ctrl-C does) the record reads "finished" and the playlist is closed.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

sub node {
    return Ams::Nginx->new(
        workers    => 2,
        top_config => 'worker_shutdown_timeout 3s;',
    )->start;
}

for my $how (qw(quit term)) {
    my $ng = node();
    my $port = $ng->rtmp_port;
    my $dir = $ng->media . '/LiveApp/streams';

    # created through REST: a record a publish made (a zombi) is deleted
    # when its stream ends
    my ($made) = rest($ng, 'POST', '/LiveApp/rest/v2/broadcasts/create',
                      body => { streamId => 'allday' });
    is($made, 200, "$how: broadcast created");

    my $pub = publish("rtmp://127.0.0.1:$port/LiveApp/allday",
                      seconds => 300, size => '320x240', rate => 15);
    ok(poll_until(sub { -s "$dir/allday.m3u8" }, 20), "$how: publishing");
    my ($st, $doc) = rest($ng, 'GET', '/LiveApp/rest/v2/broadcasts/allday');
    is($doc && $doc->{status}, 'broadcasting', "$how: record broadcasting");

    my $master = $ng->pid;
    my $t0 = time;
    if ($how eq 'quit') {
        my $cmd = join ' ', map { quotemeta } $ng->nginx_cmd('-s', 'quit');
        system($cmd);
    } else {
        kill 'TERM', $master;
    }
    ok(poll_until(sub { !kill 0, $master }, 20),
       sprintf("$how: nginx is gone after %.1f s", time - $t0));
    $ng->{started} = 0;

    like(slurp("$dir/allday.m3u8") // '', qr/#EXT-X-ENDLIST/,
         "$how: the playlist is closed");

    # started again on the same prefix: what the store says now
    $ng->start;
    ($st, $doc) = rest($ng, 'GET', '/LiveApp/rest/v2/broadcasts/allday');
    is($doc && $doc->{status}, 'finished',
       "$how: the record reads finished, not terminated_unexpectedly");
    ok($doc && ($doc->{duration} // 0) > 0, "$how: with its duration");

    kill 'KILL', $pub;
    waitpid $pub, 0;
    is($ng->crashes, '', "$how: no worker crashed");
}

done_testing();
