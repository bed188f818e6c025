# A request freed while the store works for it: its answer must not
# touch it.  SQLite's write lock is held for 2.5 s while a REST create
# and a gate admission (one-time play token: a TAKE) wait on it; a reload
# with worker_shutdown_timeout 1s then closes the old worker's
# connections, freeing both requests, before the store answers.  Before
# the fix the completions used the freed requests: signal 11 in a
# release build, heap-use-after-free under AMS_ASAN=1.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use IO::Socket::INET;
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

# a webhook receiver that never answers: the hook's timers keep the old
# worker's event loop going after its connections are closed, so the
# store's completions run there
my $hooks = IO::Socket::INET->new(Listen => 64, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp',
                                  ReuseAddr => 1) or die "listen: $!";
my $hook_url = 'http://127.0.0.1:' . $hooks->sockport . '/hook';

my $ng = Ams::Nginx->new(workers => 1,
                         top_config => 'worker_shutdown_timeout 1s;',
                         applications => <<"EOF")->start;
application LiveApp {
    listener_hook_url  $hook_url;
}
application Secure {
    play_token_control_enabled  on;
}
EOF

my $db = $ng->prefix . '/data/ams.db';
my $hp = $ng->http_port;

sub stored {
    my $o = `sqlite3 -cmd '.timeout 5000' '$db' "SELECT json_extract(doc,'\$.status') FROM docs WHERE coll='broadcast' AND id='s1'"`;
    chomp $o;
    return $o;
}

# a publisher keeps the old worker up until worker_shutdown_timeout
my $pub = publish('rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp/s1',
                  seconds => 60, size => '160x120',
                  log => $ng->prefix . '/s1.log');
ok(poll_until(sub { stored() eq 'broadcasting' }, 20), 'a publisher is live');
sleep 0.5;

# the write lock, held 2.5 s
system("(echo 'BEGIN IMMEDIATE;'; sleep 2.5; echo 'COMMIT;')"
       . " | sqlite3 -cmd '.timeout 5000' '$db' &");
sleep 0.2;

system("curl -s -m 10 -o /dev/null -X POST"
       . " -H 'Content-Type: application/json' -d '{\"streamId\":\"r1\"}'"
       . " http://127.0.0.1:$hp/LiveApp/rest/v2/broadcasts/create &");
system("curl -s -m 10 -o /dev/null"
       . " 'http://127.0.0.1:$hp/Secure/streams/cam.m3u8?token=nosuchtoken' &");
sleep 0.3;

my @old = $ng->worker_pids;
$ng->reload;

# the old worker closes its connections at 1 s, the store answers at
# about 2.3 s, the hook's retries end after some 12 s
ok(poll_until(sub {
        my %now = map { $_ => 1 } $ng->worker_pids;
        !grep { $now{$_} } @old }, 40), 'the old worker is gone');
sleep 0.5;

my $log = $ng->error_log;
my @bad = grep { /exited on signal|AddressSanitizer|runtime error:/ }
          split /\n/, $log;
ok(!@bad, 'no worker crashed') or diag join "\n", @bad;

like($log, qr/ams rest: the request went before the store answered/,
     'the REST call was cancelled');
like($log, qr/ams media: the request went before its admission was decided/,
     'the gate\'s admission was cancelled');

my ($st) = rest($ng, 'GET', '/LiveApp/rest/v2/broadcasts/count');
is($st, 200, 'the new worker answers');

kill 'INT', $pub;
wait_publisher($pub, 20);

done_testing;
