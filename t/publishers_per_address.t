# One client address may hold publishers_per_address live publishers: an
# anonymous client cannot take every stream slot of the node.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $ams = Ams::Nginx::default_ams();
$ams =~ s/cpu_limit /publishers_per_address  2;\n    cpu_limit /;

my $ng = Ams::Nginx->new(main_config => $ams)->start;
my $port = $ng->rtmp_port;

sub status_of {
    my ($id) = @_;
    my ($st, $doc) = rest($ng, 'GET', "/LiveApp/rest/v2/broadcasts/$id");
    return $doc ? $doc->{status} // '' : '';
}

my @pubs = map {
    publish("rtmp://127.0.0.1:$port/LiveApp/s$_", seconds => 60,
            size => '320x240', rate => 15)
} 1 .. 2;
ok(poll_until(sub { status_of('s1') eq 'broadcasting'
                    && status_of('s2') eq 'broadcasting' }, 20),
   'two publishers from one address are live');

my $third = publish("rtmp://127.0.0.1:$port/LiveApp/s3", seconds => 60,
                    size => '320x240', rate => 15);
my $rc = wait_publisher($third, 20);
ok($rc > 0, "a third from the same address is refused (ffmpeg exits $rc)");
isnt(status_of('s3'), 'broadcasting', 'and never goes live');
like($ng->error_log, qr/publish.*refused|Cannot publish|too many publishers/i,
     'the refusal is logged');

kill 'TERM', $pubs[0];
waitpid $pubs[0], 0;
ok(poll_until(sub { status_of('s1') ne 'broadcasting' }, 20), 'one leaves');

my $fourth = publish("rtmp://127.0.0.1:$port/LiveApp/s4", seconds => 3,
                     size => '320x240', rate => 15);
is(wait_publisher($fourth, 30), 0, 'then another is accepted');

kill 'TERM', $pubs[1];
waitpid $pubs[1], 0;
is($ng->crashes, '', 'no worker crashed');

done_testing();
