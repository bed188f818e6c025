# The Grafana dashboard and the Prometheus rules in examples/, offline:
# promtool accepts the rules, and their unit tests make each alert fire
# above its threshold and not below; every panel's query is PromQL that
# promtool parses; and every ams_* metric the two use is one a live node
# serves on /metrics.  A renamed metric, a typo in a query or a threshold
# moved without its test fails here.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use CPAN::Meta::YAML;
use File::Temp qw(tempdir);
use FindBin;
use Ams::Nginx;
use Ams::Media qw(slurp);

my $root = "$FindBin::Bin/..";
my $rules_file = "$root/examples/prometheus/nginx-ams-rules.yml";
my $rules_test = "$root/examples/prometheus/nginx-ams-rules.test.yml";
my $dashboard_file = "$root/examples/grafana/nginx-ams.json";

# families that a node serves only in some setups: each must still be
# one that ngx_ams_metrics.c writes
my %conditional = (
    ams_cluster_nodes => 'cluster nodes only (a store shared by nodes)',
);

my $out = `promtool check rules $rules_file 2>&1`;
is($?, 0, 'promtool check rules accepts the rules') or diag $out;

$out = `promtool test rules $rules_test 2>&1`;
is($?, 0, 'their unit tests pass: each alert fires above its threshold, '
          . 'not below') or diag $out;

# --- the rules' own shape

my $yaml = CPAN::Meta::YAML->read($rules_file)
    or BAIL_OUT('the rules file does not parse: ' . CPAN::Meta::YAML->errstr);
my (@rule_exprs, %recorded, @alerts, @shapeless);
for my $g (@{ $yaml->[0]{groups} }) {
    for my $r (@{ $g->{rules} }) {
        push @rule_exprs, [ $r->{alert} // $r->{record}, $r->{expr} ];
        if (defined $r->{record}) {
            $recorded{ $r->{record} } = 1;
            next;
        }
        push @alerts, $r->{alert};
        push @shapeless, $r->{alert}
            unless $r->{for} && $r->{labels}{severity}
                && $r->{annotations}{summary}
                && $r->{annotations}{description};
    }
}
cmp_ok(scalar @alerts, '>=', 10, scalar(@alerts) . ' alerts');
is_deeply(\@shapeless, [],
          'each has a for: duration, a severity, a summary and a description');

my $tests = slurp($rules_test);
my @untested = grep { $tests !~ /^\s*- alertname: \Q$_\E\s*$/m } @alerts;
is_deeply(\@untested, [], 'each alert has a unit test');

# --- the dashboard

my $dash = eval { decode_json(slurp($dashboard_file)) };
ok($dash, 'the dashboard is valid JSON') or diag $@;
$dash //= {};

cmp_ok($dash->{schemaVersion} // 0, '>=', 36,
       "schemaVersion $dash->{schemaVersion} (Grafana 9.x and later)");

my %vars = map { $_->{name} => $_ } @{ $dash->{templating}{list} // [] };
is($vars{datasource}{type} // '', 'datasource',
   'a data source variable ...');
is($vars{datasource}{query} // '', 'prometheus', '... of Prometheus');
ok($vars{job} && $vars{instance}, 'job and instance variables');

my (@panel_exprs, @no_datasource, %titles);
for my $p (@{ $dash->{panels} // [] }) {
    next if $p->{type} eq 'row';
    $titles{ $p->{title} } = 1;
    for my $t (@{ $p->{targets} // [] }) {
        push @panel_exprs, [ "$p->{id}_$t->{refId}", $t->{expr} ];
        push @no_datasource, $p->{title}
            unless ($t->{datasource}{uid} // '') eq '${datasource}';
    }
}
cmp_ok(scalar @panel_exprs, '>=', 15,
       scalar(@panel_exprs) . ' queries in the panels');
is_deeply(\@no_datasource, [], 'every query uses the data source variable');

# what the issue asks to see
for my $want ('CPU against its limit', 'Memory against its limit',
              'Live streams', 'Viewers per protocol', 'Ingest',
              'Egress per protocol', 'Encoder queue',
              'Frames dropped before encoding', 'Store query time',
              'Cluster nodes ALIVE / DEAD', 'Refusals')
{
    ok($titles{$want}, "a panel \"$want\"");
}

# the variables' queries name metrics too: label_values(SELECTOR, label)
for my $v (values %vars) {
    my $q = ref $v->{query} ? $v->{query}{query} : $v->{query};
    push @panel_exprs, [ "var_$v->{name}", $1 ]
        if defined $q && $q =~ /^label_values\((.+),\s*\w+\)$/;
}

# Grafana's variables as Prometheus would get them: an interval, and
# "All" (.*) inside the regex matchers
sub grafana_expand {
    my ($expr) = @_;
    $expr =~ s/\$__(?:rate_)?interval\b|\$\{__(?:rate_)?interval\}/1m/g;
    $expr =~ s/\$\{?\w+\}?/.*/g;
    return $expr;
}

my $dir = tempdir('ams-obs-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $fh, '>', "$dir/dashboard-rules.yml" or die;
print $fh "groups:\n  - name: dashboard\n    rules:\n";
for my $e (@panel_exprs) {
    # a JSON string is a YAML double-quoted scalar
    printf $fh "      - record: dashboard:query_%s\n        expr: %s\n",
           $e->[0], JSON::PP->new->allow_nonref->encode(
                        grafana_expand($e->[1]));
}
close $fh;
$out = `promtool check rules $dir/dashboard-rules.yml 2>&1`;
is($?, 0, 'every panel query parses as PromQL (promtool check rules)')
    or diag $out;

# --- every metric used is one a node serves

# recording rules (level:metric:operation) are the rules file's own,
# and must be defined there
my (%used, %records_used);
for my $e (@rule_exprs, @panel_exprs) {
    my $expr = $e->[1];
    while ($expr =~ /([A-Za-z_][A-Za-z0-9_]*:[A-Za-z0-9_:]*)/g) {
        $records_used{$1} = 1;
    }
    $expr =~ s/[A-Za-z_][A-Za-z0-9_]*:[A-Za-z0-9_:]*//g;
    while ($expr =~ /(?<![A-Za-z0-9_])(ams_[a-z0-9_]+)/g) {
        push @{ $used{$1} }, $e->[0];
    }
}
my @unrecorded = grep { !$recorded{$_} } sort keys %records_used;
is_deeply(\@unrecorded, [], 'every recording rule used is defined');
cmp_ok(scalar keys %used, '>=', 15,
       scalar(keys %used) . ' ams_* metrics used');

my $ng = Ams::Nginx->new->start;
my $text = `curl -s http://127.0.0.1:${\ $ng->http_port}/metrics`;
# families are announced with or without samples (per-stream ones have
# none while no stream is live)
my %served = map { $_ => 1 } $text =~ /^# TYPE (\S+) /mg;
cmp_ok(scalar keys %served, '>=', 25,
       scalar(keys %served) . ' families on a live node\'s /metrics');

my $source = slurp("$root/ngx_ams_api/ngx_ams_metrics.c");
my @unknown;
for my $name (sort keys %used) {
    next if $served{$name};
    if ($conditional{$name} && $source =~ /"\Q$name\E", "(?:gauge|counter)"/) {
        note "$name: not served by a standalone node ($conditional{$name}),"
             . ' found in ngx_ams_metrics.c';
        next;
    }
    push @unknown, "$name (in " . join(', ', @{ $used{$name} }) . ')';
}
is_deeply(\@unknown, [], 'every ams_* metric used is served by /metrics')
    or diag "served: " . join(' ', sort keys %served);

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
