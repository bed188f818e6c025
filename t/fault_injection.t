# Fault injection: a node with two workers under load (20 publishers,
# 200 RTMP players and HLS pollers, bench/ams_rtmp_load) lives through
# what operators and attackers do to it, all while the load runs:
#
#   - kill -9 of a worker holding publishers, of one holding only players,
#     and of a second one holding publishers;
#   - the store's disk filled (a 16 MiB tmpfs under the store, room for
#     SQLite's write-ahead log of up to 4 MiB, when this runs as root and
#     may mount; skipped otherwise);
#   - the HLS directory made unwritable for 3 s, then writable again;
#   - the bad RTMP clients of t/rtmp_bad_input.t round and round, a
#     handshake sent a byte a second, a publisher that never sends media,
#     chunk streams filled before connect, subscriberId reuse, bad names at
#     the HLS gate;
#   - 20 reloads.
#
# Afterwards: no worker died but those killed; streams published on a
# worker never killed have every HLS segment (media sequence continuous,
# durations adding up to what was sent), their pollers fetched them all,
# their players on surviving workers got every frame or skipped only to a
# keyframe; every broadcast record is in the state its end calls for;
# memory is back to its baseline after the 20 reloads.
#
# AMS_SOAK_SECONDS=N repeats the round (about 100 s each) until N seconds
# have passed and prints figures (bench/soak.sh).  Under AddressSanitizer
# (AMS_PRELOAD set) the players and pollers are halved (every process is
# several times slower there and the machine has two cores) and RSS is not
# compared (freed memory waits in ASan's quarantine).

use strict;
use warnings;

use Test::More;
use FindBin;
use Errno qw(ENOSPC);
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::Attack qw(spawn result);

my $asan = $ENV{AMS_PRELOAD} ? 1 : 0;
my $soak = $ENV{AMS_SOAK_SECONDS} // 0;
my $PUBLISHERS = 20;
my $PLAYERS = $asan ? 80 : 160;        # RTMP, spread over the 20 streams
my $POLLERS = $asan ? 20 : 40;         # HLS
my $LATE = 8;                           # publishers started after two kills
my $SECONDS = 56;                       # a round's publishers run this long
                                        # (what happens meanwhile takes ~52 s)
my $FPS = 25;
my $GOP = 2 * $FPS;

# tolerances, stated once
my $END_WITHIN = 1.5;       # a killed worker's streams end "within 1 s",
                            # plus REST polling under load
my $DUR_SLACK = 0.1;        # HLS durations vs the media span sent (s)
my $UNWRITABLE = 3;         # seconds the HLS directory is read-only
my $RSS_SLACK = 8 << 20;    # master + workers, idle, after vs before
my $ZONE_SLACK = 1 << 20;   # bus zone pages in use, idle, after vs before

my $ng = Ams::Nginx->new(
    workers => 2,
    # one listening socket per worker, so that the kernel spreads the
    # publishers over both (one accept queue sends most to one worker, and
    # the checks need streams on a worker that is never killed)
    stream_config => <<'EOF',
server {
    listen  127.0.0.1:$RTMP_PORT reuseport;
    ams_rtmp;
}
EOF
    main_config => <<'EOF',
ams {
    storage        $MEDIA;
    database       $PREFIX/store/ams.db;
    thread_pool    ams;
    bus_zone_size  128m;
    cpu_limit      100;
    memory_limit   100;
    # every synthetic client comes from 127.0.0.1
    publishers_per_address  64;

    application LiveApp {
        hls_time                   2s;
        hls_list_size              200;
        delete_hls_files_on_ended  off;
    }
    application Secure {
        hls_time                    2s;
        play_token_control_enabled  on;
        delete_hls_files_on_ended   off;
    }
}
EOF
);
my $prefix = $ng->prefix;
my $dir = $ng->media . '/LiveApp/streams';

# the store on a small file system of its own, to fill
mkdir "$prefix/store";
my $store_fs = '';
if ($> == 0
    && system("mount -t tmpfs -o size=16m,mode=0777 ams-fault '$prefix/store'"
              . ' 2>/dev/null') == 0)
{
    $store_fs = 'tmpfs';
} else {
    chmod 0777, "$prefix/store";
}
END {
    if ($store_fs) {
        local $?;
        $ng->stop if $ng;
        system("umount -l '$prefix/store'");
    }
}

$ng->start;
my $rtmp_port = $ng->rtmp_port;
my $http_port = $ng->http_port;

# --- the load client and its input -----------------------------------------

my $load = "$prefix/ams_rtmp_load";
my $src = "$FindBin::Bin/..";
system('cc', '-O2', '-Wall', "-I$src/ngx_ams_ingest", '-o', $load,
       "$src/bench/ams_rtmp_load.c", "$src/ngx_ams_ingest/ngx_ams_rtmp_chunk.c",
       "$src/ngx_ams_ingest/ngx_ams_amf0.c") == 0
    or die "cannot build bench/ams_rtmp_load.c\n";

# 10 s of 320x240 at 25 fps, a keyframe every 2 s, no B-frames (timestamps
# step by exactly 40 ms), looped by the publishers
my $input = "$prefix/input.flv";
system('ffmpeg', '-v', 'error', '-y', '-f', 'lavfi', '-i',
       "testsrc2=size=320x240:rate=$FPS", '-f', 'lavfi', '-i',
       'sine=frequency=440:sample_rate=44100', '-t', 10, '-c:v', 'libx264',
       '-preset', 'veryfast', '-b:v', '300k', '-g', $GOP, '-keyint_min', $GOP,
       '-sc_threshold', 0, '-bf', 0, '-pix_fmt', 'yuv420p', '-c:a', 'aac',
       '-b:a', '64k', '-f', 'flv', $input) == 0
    or die "cannot make the input FLV with ffmpeg\n";

my @clients;

# ams_rtmp_load in the background; returns its report file
sub load {
    my ($tag, @args) = @_;
    my $report = "$prefix/report-$tag";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$report.out";
        open STDERR, '>', "$report.err";
        exec $load, '-r', $report, @args or POSIX::_exit(127);
    }
    push @clients, $pid;
    return $report;
}

# the report's lines as hashes: kind, idx, name and key=value fields
sub report {
    my ($file) = @_;
    my @rows;
    for (split /\n/, slurp($file) // '') {
        my ($kind, $idx, $name, @kv) = split ' ';
        push @rows, { kind => $kind, idx => $idx, name => $name,
                      map { split /=/, $_, 2 } @kv };
    }
    return @rows;
}

sub ports {
    my ($report) = @_;
    return map { [split ' '] } split /\n/, slurp("$report.ports") // '';
}

# --- who serves whom --------------------------------------------------------

# which worker serves each connection of a report: idx -> pid, taken
# while they are all open (a closed connection's port may be reused later)
sub owners {
    my ($report) = @_;

    # the server's side of each RTMP connection: socket inode -> worker
    my %pid_of;
    for my $pid ($ng->worker_pids) {
        opendir my $dh, "/proc/$pid/fd" or next;
        for (readdir $dh) {
            my $l = readlink "/proc/$pid/fd/$_" // next;
            $pid_of{$1} = $pid if $l =~ /^socket:\[(\d+)\]/;
        }
    }

    # /proc/net/tcp: local address, remote address, ..., inode (10th)
    my %by_port;
    my $port = sprintf '%04X', $rtmp_port;
    for (split /\n/, slurp('/proc/net/tcp') // '') {
        my @f = split ' ';
        next unless @f > 9 && $f[1] =~ /:$port$/;
        my ($peer) = $f[2] =~ /:([0-9A-F]{4})$/ or next;
        $by_port{ hex $peer } = $pid_of{ $f[9] } if $pid_of{ $f[9] };
    }

    return map { $_->[0] => $by_port{ $_->[2] } // 0 } ports($report);
}

# stream name -> worker pids of its publisher, from a publish report
sub publishers_by_worker {
    my ($report) = @_;
    my %owner = owners($report);
    my %by;
    for my $p (ports($report)) {
        push @{ $by{ $owner{ $p->[0] } || 'unknown' } }, $p->[1];
    }
    return %by;
}

# --- REST ----------------------------------------------------------------

sub status_of {
    my ($id, $app) = @_;
    my ($s, $d) = rest($ng, 'GET', '/' . ($app // 'LiveApp')
                                   . "/rest/v2/broadcasts/$id");
    return $s == 200 && $d ? $d->{status} // '' : "http $s";
}

sub statuses {
    my %st;
    for (my $off = 0; ; $off += 50) {
        my ($s, $d) = rest($ng, 'GET',
                           "/LiveApp/rest/v2/broadcasts/list/$off/50");
        last unless $s == 200 && ref $d eq 'ARRAY' && @$d;
        $st{ $_->{streamId} } = $_->{status} for @$d;
        last if @$d < 50;
    }
    return %st;
}

sub create {
    my ($id, $app) = @_;
    my ($s) = rest($ng, 'POST', '/' . ($app // 'LiveApp')
                                . '/rest/v2/broadcasts/create',
                   body => { streamId => $id, name => $id });
    return $s;
}

# --- memory ----------------------------------------------------------------

my $memory_each = '';    # the last figures by process, for diagnostics

# RSS of the master and its workers, and the bus zone's pages in use:
# ams_bus_zone_used_bytes from /metrics where the node has it, else only
# for the record the zone's shared mapping's resident blocks (pages once
# touched by small allocations stay resident when freed: no check on it)
my $zone_from = '';

sub memory {
    my $master = $ng->pid;
    my ($rss, @each) = (0);
    for my $pid ($master, $ng->worker_pids) {
        my $status = slurp("/proc/$pid/status") // '';
        next unless $status =~ /^VmRSS:\s+(\d+)/m;
        $rss += $1 * 1024;
        push @each, "$pid:" . int($1 / 1024) . 'M';
    }
    $memory_each = "@each";

    my $metrics = `curl -s --max-time 10 http://127.0.0.1:$http_port/metrics`;
    if ($metrics =~ /^ams_bus_zone_used_bytes\s+(\d+)/m) {
        $zone_from = '/metrics';
        return ($rss, $1);
    }

    my $zone;
    no warnings 'portable';     # 64-bit addresses
    for (split /\n/, slurp("/proc/$master/maps") // '') {
        my ($lo, $hi) = /^([0-9a-f]+)-([0-9a-f]+) rw-s .*\/dev\/zero/ or next;
        next unless hex($hi) - hex($lo) == 128 << 20;
        my @st = stat "/proc/$master/map_files/$lo-$hi";
        $zone = $st[12] * 512 if @st;
    }
    $zone_from = 'its mapping\'s resident pages';
    return ($rss, $zone);
}

sub mib { sprintf '%.1f MiB', $_[0] / 1048576 }

# --- the round ------------------------------------------------------------

my %killed;                 # pid -> why
my %fig = map { $_ => 0 } qw(kills reloads disk_fills unwritable attacks
    flood_clients streams streams_killed streams_incomplete segments
    segments_lost seconds_lost_to_disk frames
    frames_lost key_skips players pollers records_wrong publishers_expected
    publishers_held players_cut);

sub kill_worker {
    my ($pid, $why) = @_;
    kill 'KILL', $pid;
    $killed{$pid} = $why;
    $fig{kills}++;
    my %gone = map { $_ => 1 } keys %killed;
    return poll_until(sub {
        (grep { !$gone{$_} } $ng->worker_pids) >= 2 }, 10);
}

sub wait_states {
    my ($want, $ids, $timeout) = @_;
    my $t0 = time;
    my $ok = poll_until(sub {
        my %st = statuses();
        !grep { ($st{$_} // '') ne $want } @$ids;
    }, $timeout);
    return $ok ? time - $t0 : undef;
}

sub http_code {
    my ($path, @curl) = @_;
    my $url = "http://127.0.0.1:$http_port$path";
    return `curl -s -o /dev/null -w '%{http_code}' --max-time 10 @curl '$url'`;
}

# the segments of a stream's final playlist: continuous, present, adding up
sub check_playlist {
    my ($name, $span) = @_;
    my $text = slurp("$dir/$name.m3u8") // '';
    my ($segs, $ended) = playlist_segments($text);
    my ($seq0) = $text =~ /#EXT-X-MEDIA-SEQUENCE:(\d+)/;
    my @bad;
    push @bad, 'no ENDLIST' unless $ended;
    push @bad, 'media sequence starts at ' . ($seq0 // '?')
        unless defined $seq0 && $seq0 == 0;
    my $dur = 0;
    my $i = 0;
    for my $s (@$segs) {
        my ($n) = $s->[1] =~ /^\Q$name\E(\d+)\.ts$/;
        push @bad, "segment $i is $s->[1]" unless defined $n && $n == $i;
        my $size = -s "$dir/$s->[1]" // 0;
        push @bad, "$s->[1]: $size bytes" unless $size && $size % 188 == 0;
        $dur += $s->[0];
        $i++;
    }
    # the 3 s of unwritable directory cost the segments they hit, marked
    # with EXT-X-DISCONTINUITY: at most that time and the GOP in progress
    my $gaps = () = $text =~ /^#EXT-X-DISCONTINUITY$/mg;
    my $lost = $span - $dur;
    if ($gaps) {
        $fig{seconds_lost_to_disk} += $lost;
        push @bad, sprintf('%.2f s missing at %d discontinuities', $lost,
                           $gaps)
            if $lost > $UNWRITABLE + 2 * $GOP / $FPS + $DUR_SLACK
               || $lost < -$DUR_SLACK;
    } else {
        push @bad, sprintf('durations %.2f s, %.2f s sent', $dur, $span)
            if abs($lost) > $DUR_SLACK;
    }
    return ($i, @bad);
}

sub round {
    my ($r, $reloads) = @_;
    my $pfx = "r${r}s";
    my $late = "r${r}l";
    my $sec = "r${r}sec";
    my $t_round = time;

    # the last round's workers are gone (they held its connections)
    poll_until(sub { $ng->worker_pids == 2 }, 60);

    # records made through the REST API, so none of them is a "zombi" the
    # store may delete when it ends
    is_deeply([ grep { create("$pfx$_") != 200 } 0 .. $PUBLISHERS - 1 ], [],
              "round $r: $PUBLISHERS records created");
    create("$late$_") for 0 .. $LATE - 1;
    create($sec, 'Secure');

    my $t_players = time;
    my $players = load("play-$r", '-s', $PUBLISHERS, '-i', 1000 / $FPS,
                       'play', $rtmp_port, 'LiveApp', $pfx, $PLAYERS,
                       $SECONDS + 8);
    my $pollers = load("hls-$r", '-s', $PUBLISHERS, 'hls', $http_port,
                       'LiveApp', $pfx, $POLLERS, $SECONDS + 12);
    ok(poll_until(sub { -e "$players.ports" }, 20),
       "round $r: players connected");
    my $pubs = load("pub-$r", '-l', 'publish', $rtmp_port, 'LiveApp', $pfx,
                    $PUBLISHERS, $SECONDS, $input);
    load("sec-$r", '-l', 'publish', $rtmp_port, 'Secure', $sec, 1, $SECONDS,
         $input);
    my @names = map { "$pfx$_" } 0 .. $PUBLISHERS - 1;

    ok(defined wait_states('broadcasting', \@names, 20),
       "round $r: $PUBLISHERS publishers broadcasting");
    ok(poll_until(sub { -e "$pubs.ports" }, 5),
       "round $r: publishers connected");
    my %by = publishers_by_worker($pubs);
    my %play_owner = owners($players);
    diag("round $r: publishers per worker: "
         . join(', ', map { "$_: " . @{ $by{$_} } } sort keys %by));
    ok(keys %by == 2, "round $r: both workers publish");

    # the attacks that take their time run in the background from now
    my %att = (
        slow => spawn("$prefix/att-slow-$r", sub {
            Ams::Attack::slow_handshake($rtmp_port, 30) }),
        nomedia => spawn("$prefix/att-nomedia-$r", sub {
            Ams::Attack::no_media_publisher($rtmp_port, 'LiveApp',
                                            "${pfx}idle", 40) }),
        flood1 => spawn("$prefix/att-flood1-$r", sub {
            Ams::Attack::preconnect_flood($rtmp_port, 64 << 20) }),
        flood2 => spawn("$prefix/att-flood2-$r", sub {
            Ams::Attack::preconnect_flood($rtmp_port, 64 << 20) }),
    );
    $fig{attacks} += keys %att;

    # 1. kill -9 a worker holding publishers: the one with fewer, so that
    # more streams survive to be checked
    my @gen0 = $ng->worker_pids;
    my ($target) = sort { @{ $by{$a} } <=> @{ $by{$b} } }
                   grep { $by{$_} && @{ $by{$_} } } @gen0;
    if (!defined $target) {
        fail("round $r: no worker known to hold a publisher");
        return;
    }
    my @dead = @{ $by{$target} };
    my ($keep) = grep { $_ != $target } @gen0;
    my %lost = map { $_ => 1 } @dead;
    my @survivors = grep { !$lost{$_} } @names;
    sleep 3;
    ok(kill_worker($target, 'publishing'),
       "round $r: worker $target (" . @dead . ' publishers) killed, '
       . 'and replaced');
    my $took = wait_states('terminated_unexpectedly', \@dead, 5);
    ok(defined $took && $took <= $END_WITHIN,
       "round $r: its streams read terminated_unexpectedly within 1 s")
        or diag('after ' . ($took // 'more than 5') . ' s: '
                . join(' ', map { "$_=" . status_of($_) } @dead));
    ok(poll_until(sub {
        !grep { (slurp("$dir/$_.m3u8") // '') !~ /#EXT-X-ENDLIST/ } @dead },
        5), "round $r: and their playlists are closed");

    # 2. kill -9 the replacement, which holds players only
    my $players_b = load("playb-$r", '-s', $PUBLISHERS, '-i', 1000 / $FPS,
                         'play', $rtmp_port, 'LiveApp', $pfx, 20,
                         int($t_players + $SECONDS + 8 - time));
    ok(poll_until(sub { -e "$players_b.ports" }, 10),
       "round $r: late players joined");
    sleep 2;
    my %playb_owner = owners($players_b);
    my ($fresh) = grep { $_ != $keep && !$killed{$_} } $ng->worker_pids;
    my $held = grep { $_ == $fresh } values %playb_owner;
    ok(kill_worker($fresh, 'players only'),
       "round $r: worker $fresh ($held players, no publisher) killed, "
       . 'and replaced');

    # 3. late publishers, and kill -9 of the new worker once it has some
    my $lates = load("late-$r", '-l', 'publish', $rtmp_port, 'LiveApp',
                     $late, $LATE, 10, $input);
    my @late_names = map { "$late$_" } 0 .. $LATE - 1;
    my $t_late = time;
    ok(defined wait_states('broadcasting', \@late_names, 15),
       "round $r: $LATE late publishers broadcasting");
    poll_until(sub { -e "$lates.ports" }, 5);
    my %lby = publishers_by_worker($lates);
    my ($fresh2) = grep { $_ != $keep && !$killed{$_} } $ng->worker_pids;
    my @late_dead = @{ $lby{$fresh2} // [] };
    my %late_lost = map { $_ => 1 } @late_dead;
    my @late_kept = grep { !$late_lost{$_} } @late_names;
    SKIP: {
        skip "no late publisher landed on worker $fresh2", 2
            unless @late_dead;
        ok(kill_worker($fresh2, 'publishing'),
           "round $r: worker $fresh2 (" . @late_dead
           . ' late publishers) killed, and replaced');
        my $t = wait_states('terminated_unexpectedly', \@late_dead, 5);
        ok(defined $t && $t <= $END_WITHIN,
           "round $r: its streams read terminated_unexpectedly within 1 s")
            or diag('after ' . ($t // 'more than 5') . ' s');
    }

    # 4. the store's disk full while the surviving late publishers end
    SKIP: {
        skip 'the store is not on a file system of its own (not root, or '
             . 'no tmpfs)', 3 unless $store_fs;
        sleep 0.1 while time < $t_late + 7;     # 3 s before they end
        my $filler = "$prefix/store/filler";
        open my $fh, '>', $filler or die "$filler: $!";
        my $block = "\0" x 65536;
        1 while syswrite $fh, $block;
        my $full = $! == ENOSPC;
        close $fh;
        ok($full, "round $r: the store's disk is full");
        $fig{disk_fills}++;
        sleep 0.1 while time < $t_late + 16;     # the late publishers end

        # SQLite may still have room in its write-ahead log: a record made
        # now is either stored or refused with the full disk named
        my $answer = create("${pfx}full");
        ok($answer == 200 ? status_of("${pfx}full") eq 'created'
           : $answer =~ /^5/ && $ng->error_log =~ /disk is full|SQLITE_FULL/i,
           "round $r: a record made meanwhile is stored or refused, the "
           . "full disk named (answer $answer)");
        unlink $filler;
        ok(poll_until(sub { create("${pfx}after") == 200 }, 10),
           "round $r: records are created again once there is room");
    }
    my $t_ok = wait_states('finished', \@late_kept, 20);
    ok(defined $t_ok, "round $r: late streams that ended meanwhile read "
                      . 'finished') or diag(join ' ', map { "$_="
                      . status_of($_) } @late_kept);

    # 5. the HLS directory unwritable for 3 s
    chmod 0555, $dir;
    $fig{unwritable}++;
    sleep $UNWRITABLE;
    chmod 0777, $dir;

    # 6. bad names at the HLS gate, a viewer's subscriberId reused
    my @names_bad = ("/LiveApp/streams/.$survivors[0].m3u8.tmp",
                     "/Secure/streams/.$sec.m3u8.tmp",
                     "/Secure/streams/${sec}_adaptive.m3u8",
                     "/Secure/streams/$sec.m3u8%00.ts",
                     "/LiveApp/streams/" . ('x' x 600) . '.m3u8',
                     "/LiveApp/streams/$survivors[0].m3u8.bak",
                     "/Secure/streams/${sec}000000001.ts",
                     '/Secure/streams/nosuch.m3u8');
    my @got = grep { $_->[1] eq '200' || $_->[1] =~ /^5/ }
              map { [$_, http_code($_)] } (@names_bad) x 5;
    is_deeply(\@got, [], "round $r: bad names at the gate: no 200, no 5xx");
    my ($st, $doc) = rest($ng, 'GET', "/Secure/rest/v2/broadcasts/$sec/token"
                          . '?expireDate=' . int(time + 600) . '&type=play');
    my $token = $doc && $doc->{tokenId} // '';
    is(http_code("/Secure/streams/$sec.m3u8?token=$token"
                 . "&subscriberId=fault$r"), 200,
       "round $r: a viewer with a play token is admitted");
    is(http_code("/Secure/streams/$sec.m3u8?subscriberId=fault$r"), 403,
       "round $r: another client with its subscriberId alone is not");
    $fig{attacks} += 2;

    # 7. reloads, while the bad clients of t/rtmp_bad_input.t keep coming
    my $flood = spawn("$prefix/att-bad-$r", sub {
        Ams::Attack::bad_client_flood($rtmp_port, 20) });
    my @rest_bad;
    for my $i (1 .. $reloads) {
        $ng->reload;
        $fig{reloads}++;
        my $s;
        poll_until(sub {
            ($s) = rest($ng, 'GET', '/rest/v2/liveness');
            $s == 200 }, 5);
        push @rest_bad, "reload $i: $s" if $s != 200;
        sleep 0.5;
    }
    is_deeply(\@rest_bad, [], "round $r: REST answers after each of "
              . "$reloads reloads");

    # the end of the round
    for my $pid (@clients, values %att, $flood) {
        my $deadline = time + $SECONDS + 60;
        sleep 0.2 until waitpid($pid, WNOHANG) != 0 || time > $deadline;
    }
    @clients = ();

    my %a = result("$prefix/att-slow-$r");
    ok(($a{closed_after} // 'never') ne 'never' && $a{closed_after} <= 13,
       "round $r: a handshake sent a byte a second is closed within 10 s"
       . ' (+3)') or diag("closed after $a{closed_after} s");
    %a = result("$prefix/att-nomedia-$r");
    ok(($a{closed_after} // 'never') ne 'never' && $a{closed_after} <= 13,
       "round $r: a publisher without media is dropped within 10 s (+3)")
        or diag("closed after $a{closed_after} s");
    for my $f (qw(flood1 flood2)) {
        %a = result("$prefix/att-$f-$r");
        ok($a{closed} && $a{bytes} < 16 << 20,
           "round $r: chunk streams filled before connect: closed before "
           . '16 MiB') or diag("closed=$a{closed}, $a{bytes} bytes taken in "
                               . "$a{seconds} s");
    }
    %a = result("$prefix/att-bad-$r");
    $fig{flood_clients} += $a{tried} // 0;
    ok(($a{tried} // 0) > 0 && $a{left_open} == 0,
       "round $r: every bad client was disconnected ($a{tried} tried)")
        or diag(join ' ', map { "$_=$a{$_}" } sort keys %a);

    # --- checks: HLS of the streams whose worker was never killed --------
    my %sent = map { $_->{name} => $_ } report($pubs);
    poll_until(sub { !grep { (slurp("$dir/$_.m3u8") // '') !~ /#EXT-X-ENDLIST/ }
                     @survivors }, 10);
    $fig{streams} += @names + @late_names;
    $fig{streams_killed} += @dead + @late_dead;
    my @hls_bad;
    for my $name (@survivors) {
        my $p = $sent{$name};
        my $span = ($p->{last_ts} - $p->{first_ts} + 1000 / $FPS) / 1000;
        my ($n, @bad) = check_playlist($name, $span);
        $fig{segments} += $n;
        push @hls_bad, "$name: @bad" if @bad;
        $fig{streams_incomplete}++ if @bad;
        $fig{frames} += $p->{frames};
    }
    is_deeply(\@hls_bad, [], "round $r: " . @survivors . ' streams on the '
              . 'surviving worker have every HLS segment');

    # load held: publishers not on a killed worker ran to their end
    for my $name (@survivors) {
        my $p = $sent{$name};
        $fig{publishers_expected}++;
        $fig{publishers_held}++
            if !$p->{closed} || $p->{closed_at} >= $SECONDS - 1;
    }

    my %alive = map { $_ => 1 } @survivors;
    my @poll_bad;
    for my $h (grep { $alive{ $_->{name} } } report($pollers)) {
        $fig{pollers}++;
        $fig{segments_lost} += $h->{seq_gaps} + $h->{bad_segments};
        push @poll_bad, "poller $h->{idx} of $h->{name}: "
            . join(' ', map { "$_=$h->{$_}" }
                   qw(segments seq_gaps bad_segments ended first_seq))
            if $h->{seq_gaps} || $h->{bad_segments} || !$h->{ended}
               || $h->{first_seq} != 0;
    }
    is_deeply(\@poll_bad, [], "round $r: their HLS pollers fetched every "
              . 'segment, in sequence, to the end');

    # --- checks: RTMP players on the surviving worker ------------------
    my @play_bad;
    for my $set (['player', $players, \%play_owner, 1],
                 ['late player', $players_b, \%playb_owner, 0])
    {
        my ($who, $report, $owner, $from_start) = @$set;
        for my $pl (report($report)) {
            next unless $alive{ $pl->{name} };
            next unless $owner->{ $pl->{idx} } == $keep;
            $fig{players}++;
            $fig{key_skips} += $pl->{key_skips};
            my $want = $sent{ $pl->{name} }{frames};
            my $got = $pl->{frames} + $pl->{skipped};
            $fig{frames_lost} += $pl->{skipped};
            my @why;
            push @why, "bad_gaps=$pl->{bad_gaps}" if $pl->{bad_gaps};
            push @why, 'started on a non-keyframe' if $pl->{bad_start};
            if ($pl->{closed} && !$pl->{ended}) {
                push @why, 'cut off';
                $fig{players_cut}++;
            }
            push @why, 'never told of the end' unless $pl->{ended};
            push @why, "$got of $want frames"
                if $from_start && $got < $want - $GOP;
            push @play_bad, "$who $pl->{idx} of $pl->{name}: @why" if @why;
        }
    }
    is_deeply(\@play_bad, [], "round $r: players on the surviving worker got "
              . 'every frame or skipped only to a keyframe');

    # --- checks: records --------------------------------------------------
    my %st = statuses();
    my %want = ((map { $_ => 'finished' } @survivors, @late_kept),
                (map { $_ => 'terminated_unexpectedly' } @dead, @late_dead));
    my @wrong = map { "$_: $st{$_} (want $want{$_})" }
                grep { ($st{$_} // 'none') ne $want{$_} } sort keys %want;
    $fig{records_wrong} += @wrong;
    is_deeply(\@wrong, [], "round $r: every record is in the right state");

    diag(sprintf 'round %d took %.0f s', $r, time - $t_round);
}

# --- the scenario ----------------------------------------------------------

# Memory is compared idle, each time right after the workers of a reload
# served the same requests (a fresh worker that served nothing is smaller
# than any that did): a stream published and ended, REST and HLS requests.
sub settle {
    my ($tag) = @_;
    $ng->reload;
    poll_until(sub { $ng->worker_pids == 2 }, 30);
    create("settle$tag");
    my $p = load("settle-$tag", 'publish', $rtmp_port, 'LiveApp',
                 "settle$tag", 1, 3, $input);
    waitpid $clients[-1], 0;
    @clients = ();
    for (1 .. 20) {
        rest($ng, 'GET', '/LiveApp/rest/v2/broadcasts/list/0/10');
        http_code("/LiveApp/streams/settle$tag.m3u8");
    }
    poll_until(sub { status_of("settle$tag") eq 'finished' }, 10);
    sleep 1;
    return memory();
}

my ($rss0, $zone0) = settle('before');
diag("baseline: RSS by process, master first: $memory_each");
diag('baseline: RSS ' . mib($rss0) . ', bus zone ' . mib($zone0 // 0)
     . " (from $zone_from), store on "
     . ($store_fs || 'the test directory'));

my $t0 = time;
my $rounds = 0;
do {
    round($rounds++, 20);
} while ($soak && time - $t0 + 100 < $soak);

# --- after: crashes, memory ------------------------------------------------

my @signals = $ng->error_log =~ /worker process (\d+) exited on signal (\d+)/g;
my @unexpected;
while (my ($pid, $sig) = splice @signals, 0, 2) {
    push @unexpected, "$pid (signal $sig)" unless $killed{$pid} && $sig == 9;
}
is_deeply(\@unexpected, [], 'no worker died but those killed ('
          . keys(%killed) . ')');
my @other = grep { !/exited on signal 9/ } split /\n/, $ng->crashes;
is_deeply(\@other, [], 'no alert, emergency or sanitizer report');

# idle again: every stream ended, old workers gone
poll_until(sub { $ng->worker_pids == 2 }, 60);
my ($rss1, $zone1) = settle('after');
my $zone_metric = $zone_from eq '/metrics';
# AddressSanitizer keeps freed memory in quarantine (up to 256 MiB): RSS
# says nothing there
ok(poll_until(sub {
    ($rss1, $zone1) = memory();
    $ng->worker_pids == 2 && ($asan || $rss1 <= $rss0 + $RSS_SLACK)
        && (!$zone_metric || $zone1 <= $zone0 + $ZONE_SLACK);
}, 20), 'memory back to baseline after ' . $fig{reloads} . ' reloads: RSS '
        . mib($rss1) . ' (was ' . mib($rss0) . '), bus zone ' . mib($zone1 // 0)
        . ' (was ' . mib($zone0 // 0) . ')'
        . ($zone_metric ? '' : ', not checked: no ams_bus_zone_used_bytes')
        . ($asan ? ', RSS not checked under AddressSanitizer' : ''))
    or diag("RSS by process, master first: $memory_each; "
            . join ', ', `curl -s http://127.0.0.1:$http_port/metrics`
                         =~ /^(ams_streams_active \d+|ams_bus_\w+ \d+)$/mg);

diag(sprintf "figures: %d round(s) in %.0f s; load %d publishers + %d late, "
     . "%d RTMP players + %d HLS pollers per round", $rounds, time - $t0,
     $PUBLISHERS, $LATE, $PLAYERS + 20, $POLLERS);
diag('figures: ' . join ', ', map { "$_ " . (0 + sprintf('%.2f', $fig{$_})) } sort keys %fig);

done_testing();
