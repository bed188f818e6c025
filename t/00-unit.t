# Runs the C unit tests (built by ./build.sh into $AMS_UNIT) as subtests.

use strict;
use warnings;
use Test::More;

my $dir = $ENV{AMS_UNIT} or plan skip_all => 'AMS_UNIT not set (./build.sh test)';
my @tests = sort glob "$dir/test_*";
plan skip_all => "no unit tests in $dir" unless @tests;

for my $bin (@tests) {
    my $name = (split m{/}, $bin)[-1];
    my $out = `$bin 2>&1`;
    my $status = $? >> 8;
    my @not_ok = grep { /^not ok/ } split /\n/, $out;
    my ($plan) = $out =~ /^1\.\.(\d+)/m;
    ok($status == 0 && !@not_ok && $plan, "$name: " . ($plan // 0) . " checks")
        or diag($out);
}

done_testing();
