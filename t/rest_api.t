# The REST API v2 as an Ant Media Server user drives it with curl:
# create, read, update, list (offset/size/sort/search, capped at 250),
# count, delete, tokens, version, the server-level resources, and a 4xx
# with a message for every bad request.  Records outlive a restart.

use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use Ams::Nginx;
use Ams::Rest;

my $ng = Ams::Nginx->new(workers => 2)->start;
my $api = '/LiveApp/rest/v2';

my ($st, $doc, $raw);

# create
($st, $doc) = rest($ng, 'POST', "$api/broadcasts/create",
                   body => { streamId => 'cam1', name => 'Front door',
                             description => 'porch' });
is($st, 200, 'create answers 200');
is($doc->{streamId}, 'cam1', 'with the stream id asked for');
is($doc->{status}, 'created', 'status created');
is($doc->{type}, 'liveStream', 'type liveStream');
ok($doc->{date} > 1.7e12, 'date in milliseconds');

($st, $doc) = rest($ng, 'POST', "$api/broadcasts/create",
                   body => { name => 'no id given' });
is($st, 200, 'create without a streamId');
like($doc->{streamId} // '', qr/^[A-Za-z0-9]{15}$/, 'gets a generated id');
my $generated = $doc->{streamId};

($st, $doc) = rest($ng, 'POST', "$api/broadcasts/create", body => '');
is($st, 200, 'an empty body creates a record too');

# read, update
($st, $doc) = rest($ng, 'GET', "$api/broadcasts/cam1");
is($st, 200, 'get answers 200');
is($doc->{name}, 'Front door', 'with the name given');

($st, $doc) = rest($ng, 'PUT', "$api/broadcasts/cam1",
                   body => { name => 'Back door', status => 'broadcasting',
                             unknownField => [1] });
is($st, 200, 'update answers 200');
is($doc->{success}, JSON::PP::true, 'success true');
($st, $doc) = rest($ng, 'GET', "$api/broadcasts/cam1");
is($doc->{name}, 'Back door', 'the name changed');
is($doc->{status}, 'created', 'status is the server\'s to set');
ok(!exists $doc->{unknownField}, 'unknown fields are not stored');

# bulk: enough records to see the 250 cap, made with another client
my $http = HTTP::Tiny->new;
my $base = 'http://127.0.0.1:' . $ng->http_port . $api;
my $made = 0;
for my $i (1 .. 260) {
    my $r = $http->post("$base/broadcasts/create", {
        headers => { 'Content-Type' => 'application/json' },
        content => sprintf('{"streamId":"bulk%03d","name":"Bulk %03d"}',
                           $i, $i) });
    $made++ if $r->{status} == 200;
}
is($made, 260, '260 more records created');

($st, $doc) = rest($ng, 'GET', "$api/broadcasts/count");
is_deeply($doc, { number => 263 }, 'count is 263');

($st, $doc) = rest($ng, 'GET', "$api/broadcasts/list/0/1000");
is($st, 200, 'list answers 200');
is(scalar @$doc, 250, 'a list is capped at 250');

($st, $doc) = rest($ng, 'GET', "$api/broadcasts/list/0/3");
is_deeply([ map { $_->{streamId} } @$doc ], [ 'cam1', $generated,
          $doc->[2]{streamId} ], 'default order is creation order');

($st, $doc) = rest($ng, 'GET',
                   "$api/broadcasts/list/2/3?search=Bulk&sort_by=name&order_by=desc");
is_deeply([ map { $_->{name} } @$doc ], [ 'Bulk 258', 'Bulk 257',
          'Bulk 256' ], 'sort_by=name&order_by=desc with an offset');

($st, $doc) = rest($ng, 'GET', "$api/broadcasts/list/0/50?search=bulk12");
is_deeply([ sort map { $_->{streamId} } @$doc ],
          [ map { sprintf 'bulk%03d', $_ } 120 .. 129 ],
          'search matches ids and names, case-insensitively');

($st, $doc) = rest($ng, 'GET', "$api/broadcasts/list/300/10");
is_deeply($doc, [], 'an offset past the end lists nothing');

# tokens
my $exp = time + 3600;
($st, $doc) = rest($ng, 'GET',
                   "$api/broadcasts/cam1/token?expireDate=$exp&type=publish");
is($st, 200, 'token answers 200');
like($doc->{tokenId} // '', qr/^[A-Za-z0-9]{32}$/, 'a 32-character token');
is_deeply([ @$doc{qw(streamId expireDate type)} ], [ 'cam1', $exp,
          'publish' ], 'for the stream, date and type asked');

# server level
($st, $doc) = rest($ng, 'GET', '/rest/v2/liveness');
is($st, 200, 'liveness answers 200');
is($doc->{status}, 'ok', 'status ok');
ok(length $doc->{host}, 'with the host name');

($st, $doc) = rest($ng, 'GET', '/rest/v2/system-resources');
is($st, 200, 'system-resources answers 200');
ok($doc->{systemMemoryInfo}{totalMemory} > 0, 'reports memory');
ok($doc->{fileSystemInfo}{totalSpace} > 0, 'reports the disk');
ok(exists $doc->{cpuUsage}{systemCPULoad}, 'reports the CPU load');
is($doc->{totalLiveStreamSize}, 0, 'no live streams');

($st, $doc) = rest($ng, 'GET', '/rest/v2/cpu-status');
ok($st == 200 && exists $doc->{systemCPULoad}
   && exists $doc->{processCPULoad} && $doc->{processCPUTime} >= 0,
   'cpu-status');

($st, $doc) = rest($ng, 'GET', "$api/version");
ok($st == 200 && $doc->{versionName}, 'version');

# delete
($st, $doc) = rest($ng, 'DELETE', "$api/broadcasts/bulk001");
is($st, 200, 'delete answers 200');
($st, $doc) = rest($ng, 'GET', "$api/broadcasts/bulk001");
is($st, 404, 'and the record is gone');

# every bad request: a 4xx and a message
my @bad = (
    [ 'POST', "$api/broadcasts/create", '{"streamId":', 400,
      qr/malformed JSON/, 'malformed JSON' ],
    [ 'POST', "$api/broadcasts/create", '[1,2]', 400,
      qr/JSON object/, 'a body that is not an object' ],
    [ 'POST', "$api/broadcasts/create", '{"name":42}', 400,
      qr/"name" must be a string/, 'a field of the wrong type' ],
    [ 'POST', "$api/broadcasts/create", '{"publicStream":"yes"}', 400,
      qr/must be a boolean/, 'a string for a boolean' ],
    [ 'POST', "$api/broadcasts/create", '{"streamId":"a/b"}', 400,
      qr/invalid stream id/, 'a stream id with a slash' ],
    [ 'POST', "$api/broadcasts/create", '{"streamId":"cam1"}', 400,
      qr/already being used/, 'a stream id taken' ],
    [ 'POST', "$api/broadcasts/create", '{"a":1,"a":2}', 400,
      qr/malformed JSON/, 'duplicate keys' ],
    [ 'POST', "$api/broadcasts/create", '{"name":"' . ('x' x 20000) . '"}',
      413, qr/larger than/, 'an oversized body' ],
    [ 'PUT', "$api/broadcasts/cam1", '', 400, qr/Broadcast object/,
      'an update without a body' ],
    [ 'PUT', "$api/broadcasts/nosuch", '{"name":"x"}', 404, qr/not found/,
      'an update of a missing record' ],
    [ 'GET', "$api/broadcasts/nosuch", undef, 404, qr/not found/,
      'a missing record' ],
    [ 'DELETE', "$api/broadcasts/nosuch", undef, 404, qr/not found/,
      'a delete of a missing record' ],
    [ 'GET', "$api/broadcasts/list/-1/10", undef, 400, qr/non-negative/,
      'a negative offset' ],
    [ 'GET', "$api/broadcasts/list/0/ten", undef, 400, qr/non-negative/,
      'a size that is not a number' ],
    [ 'GET', "$api/broadcasts/list/0/10?sort_by=color", undef, 400,
      qr/sort_by/, 'an unknown sort_by' ],
    [ 'GET', "$api/broadcasts/list/0/10?order_by=up", undef, 400,
      qr/order_by/, 'an unknown order_by' ],
    [ 'GET', "$api/broadcasts/cam1/token?type=play", undef, 400,
      qr/expireDate/, 'a token without expireDate' ],
    [ 'GET', "$api/broadcasts/cam1/token?expireDate=100&type=play", undef,
      400, qr/expireDate/, 'a token that expired already' ],
    [ 'GET', "$api/broadcasts/cam1/token?expireDate=$exp&type=admin",
      undef, 400, qr/type/, 'a token of an unknown type' ],
    [ 'GET', "$api/broadcasts/cam1/jwt-token?expireDate=$exp&type=play",
      undef, 400, qr/jwt_stream_secret_key/, 'a JWT without a key' ],
    [ 'POST', "$api/broadcasts/cam1", '{}', 405, qr/not allowed/,
      'a wrong method' ],
    [ 'GET', "$api/broadcasts/cam1/nothing", undef, 404, qr/no such/,
      'an unknown endpoint' ],
    [ 'GET', '/NoApp/rest/v2/broadcasts/count', undef, 404,
      qr/no such application/, 'an unknown application' ],
    [ 'GET', '/rest/v2/nothing', undef, 404, qr/no such endpoint/,
      'an unknown server endpoint' ],
);

for my $b (@bad) {
    my ($method, $path, $body, $want, $msg, $what) = @$b;
    ($st, $doc, $raw) = rest($ng, $method, $path,
                             defined $body ? (body => $body) : ());
    is($st, $want, "$what: $want");
    ok($doc && $doc->{success} eq JSON::PP::false
       && ($doc->{message} // '') =~ $msg, "$what: says so")
        or diag $raw;
}

# the store is a file: records survive a restart
$ng->stop;
$ng->start;
($st, $doc) = rest($ng, 'GET', "$api/broadcasts/cam1");
is($doc->{name}, 'Back door', 'a record survives a restart');
($st, $doc) = rest($ng, 'GET', "$api/broadcasts/count");
is_deeply($doc, { number => 262 }, 'all of them');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
