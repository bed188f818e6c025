# The Kubernetes manifests of examples/k8s as the API server would take
# them, with no cluster and no network: every document passes its kind's
# schema with no unknown field (t/k8s/validate.mjs, the schemas from the
# pinned kubernetes-models), and a manifest with a typo'd field, a wrong
# type, an unknown kind or a key given twice is refused.  Then what no
# schema sees: every HPA scales a Deployment of the set on metrics that
# exist (custom ones made by a prometheus-adapter rule from a series
# /metrics really exposes, CPU and memory on containers that request
# them), every Service and PodDisruptionBudget selects pods of a
# Deployment and every Service port lands on a container port, Secret
# references resolve, the environment is the image's (AMS_*), probes ask
# /rest/v2/liveness on 5080, the grace period outlasts preStop, and the
# kustomization lists every file or says why not.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use File::Basename qw(dirname basename);
use File::Find;
use Cwd qw(abs_path);
use JSON::PP;
use IPC::Open3;
use Symbol qw(gensym);

plan skip_all => 'node is not installed'
    unless grep { -x "$_/node" } split /:/, $ENV{PATH} // '';

my $root = dirname(dirname(abs_path(__FILE__)));
my $dir = "$root/examples/k8s";
my $validate = "$root/t/k8s/validate.mjs";

unless (-d "$root/t/k8s/node_modules/kubernetes-models") {
    fail('t/k8s/node_modules is installed');
    diag('run ./build.sh deps (npm ci in t/k8s)');
    done_testing();
    exit;
}

my $tmp = tempdir('ams-k8s-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

sub spew {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
}

# runs validate.mjs: (exit status, its JSON, its stderr)
sub validate {
    my @files = @_;
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, 'node', $validate, @files);
    close $in;
    # stderr is small (one line an error): read it after stdout
    my $json = do { local $/; <$out> };
    my $msg = do { local $/; <$err> };
    waitpid $pid, 0;
    my $rc = $? >> 8;
    my $doc = eval { decode_json($json) };
    return ($rc, $doc, $msg // '');
}

my @files = sort glob "$dir/*.yaml";
ok(@files >= 8, 'examples/k8s has its manifests') or diag("@files");

# --- the schemas ---

my ($rc, $out, $msg) = validate(@files);
is($rc, 0, 'every manifest passes its Kubernetes schema, unknown fields '
    . 'refused') or diag($msg);
ok($out && @{ $out->{objects} }, 'the validator reports the objects')
    or BAIL_OUT('no output from validate.mjs');

my @objs = @{ $out->{objects} };
my %by_file;
push @{ $by_file{ basename($_->{file}) } }, $_ for @objs;
for my $f (@files) {
    ok($by_file{ basename($f) }, basename($f) . ' holds an object');
}

# Each broken copy differs from a real manifest by one edit, and the
# unedited copy passes in the same run: the refusal is the edit's.
my $edge = slurp("$dir/edge.yaml");
my $hpa = slurp("$dir/hpa.yaml");
my %broken = (
    'typo.yaml' => [ $edge, qr/^  replicas:/m, '  replicaz:',
                     qr{typo\.yaml.*unknown field /spec/replicaz} ],
    'typo-deep.yaml' => [ $edge, qr/imagePullPolicy:/, 'imagePullPolcy:',
                          qr{typo-deep\.yaml.*unknown field /spec/template/spec/containers/0/imagePullPolcy} ],
    'type.yaml' => [ $edge, qr/containerPort: 1935/, 'containerPort: "1935"',
                     qr{type\.yaml.*containerPort must be integer} ],
    'hpa-type.yaml' => [ $hpa, qr/averageUtilization: 70/,
                         'averageUtilization: seventy',
                         qr{hpa-type\.yaml.*averageUtilization must be integer} ],
    'kind.yaml' => [ $edge, qr/^kind: Deployment/m, 'kind: Deploymnet',
                     qr{kind\.yaml.*no such apiVersion/kind.*apps/v1 Deploymnet} ],
    'twice.yaml' => [ $edge, qr/^  replicas: 2\n/m, "  replicas: 2\n  replicas: 3\n",
                      qr{twice\.yaml.*YAML:.*[Uu]nique} ],
);
my @broken;
for my $name (sort keys %broken) {
    my ($text, $re, $with) = @{ $broken{$name} };
    (my $edited = $text) =~ s/$re/$with/ or die "$name: edit not made";
    spew("$tmp/$name", $edited);
    push @broken, "$tmp/$name";
}
spew("$tmp/control.yaml", $edge);
($rc, undef, $msg) = validate(@broken, "$tmp/control.yaml");
is($rc, 1, 'the broken manifests are refused');
for my $name (sort keys %broken) {
    like($msg, $broken{$name}[3], "$name: refused, naming what is wrong");
}
unlike($msg, qr/control\.yaml/, 'the same manifest unedited passes');

# --- what the schemas do not see ---

my @deploys = grep { $_->{kind} eq 'Deployment' } @objs;
my %deploy = map { $_->{name} => $_->{object} } @deploys;
ok($deploy{'nginx-ams-origin'} && $deploy{'nginx-ams-edge'},
    'an origin and an edge Deployment');

sub pod_labels { $_[0]{spec}{template}{metadata}{labels} // {} }

sub selects {
    my ($sel, $labels) = @_;
    return 0 unless $sel && %$sel;
    return !grep { ($labels->{$_} // "\0") ne $sel->{$_} } keys %$sel;
}

sub containers { @{ $_[0]{spec}{template}{spec}{containers} // [] } }

for my $d (@deploys) {
    my $o = $d->{object};
    ok(selects($o->{spec}{selector}{matchLabels}, pod_labels($o)),
        "Deployment $d->{name}: its selector matches its pod labels");
}

# the image's environment (the container image contract)
my %contract = map { $_ => 1 } qw(AMS_ROLE AMS_MONGODB_URI AMS_CLUSTER_KEY
    AMS_NODE_GROUP AMS_NODE_ADDRESS AMS_PUBLIC_ADDRESS AMS_CPU_LIMIT
    AMS_MEMORY_LIMIT AMS_WORKERS AMS_HEARTBEAT AMS_WEBRTC_PORT
    AMS_ALLOWED_CIDR AMS_CONFIG);
my %secret;
for my $s (grep { $_->{kind} eq 'Secret' } @objs) {
    my $o = $s->{object};
    $secret{ $s->{name} }{$_} = 1
        for keys %{ $o->{stringData} // {} }, keys %{ $o->{data} // {} };
}

sub env_of {
    my ($c) = @_;
    return { map { $_->{name} => $_ } @{ $c->{env} // [] } };
}

sub port_of {
    my ($c, $port) = @_;
    return $port if $port =~ /^\d+$/;
    my ($p) = grep { ($_->{name} // '') eq $port } @{ $c->{ports} // [] };
    return $p ? $p->{containerPort} : undef;
}

for my $d (@deploys) {
    my $o = $d->{object};
    my $spec = $o->{spec}{template}{spec};
    for my $c (containers($o)) {
        my $env = env_of($c);
        my $role = $env->{AMS_ROLE}{value} // '';
        like($role, qr/^(origin|edge|balancer)$/,
            "$d->{name}: AMS_ROLE is a cluster role");
        my @odd = grep { /^AMS_/ && !$contract{$_} } keys %$env;
        is("@odd", '', "$d->{name}: every AMS_ variable is one the image reads");
        ok($env->{AMS_MONGODB_URI}, "$d->{name}: AMS_MONGODB_URI set");
        ok($env->{AMS_CLUSTER_KEY}, "$d->{name}: AMS_CLUSTER_KEY set")
            unless $role eq 'balancer';
        is($env->{AMS_NODE_ADDRESS}{valueFrom}{fieldRef}{fieldPath} // '',
            'status.podIP', "$d->{name}: AMS_NODE_ADDRESS is the pod's IP");
        for my $v (values %$env) {
            my $ref = $v->{valueFrom}{secretKeyRef} or next;
            ok($secret{ $ref->{name} }{ $ref->{key} },
                "$d->{name}: $v->{name} from Secret $ref->{name} key "
                . "$ref->{key}, which exists");
        }
        if ($role ne 'balancer') {
            like($env->{AMS_ALLOWED_CIDR}{value} // '', qr{/},
                "$d->{name}: AMS_ALLOWED_CIDR opens /metrics to a network");
            my $ann = $o->{spec}{template}{metadata}{annotations} // {};
            is($ann->{'prometheus.io/port'} // '', port_of($c, 'http') // '-',
                "$d->{name}: scraped on its HTTP port");
        }
        for my $probe (qw(readinessProbe livenessProbe)) {
            my $get = $c->{$probe}{httpGet} // {};
            ok(($get->{path} // '') eq '/rest/v2/liveness'
                && (port_of($c, $get->{port} // '') // 0) == 5080,
                "$d->{name}: $probe GET /rest/v2/liveness on 5080");
        }
        my $cmd = $c->{lifecycle}{preStop}{exec}{command} // [];
        my ($sleep) = "@$cmd" =~ /^sleep (\d+)$/;
        ok($sleep && ($spec->{terminationGracePeriodSeconds} // 30)
                >= $sleep + 30,
            "$d->{name}: the grace period leaves 30 s to drain after preStop");
        ok($c->{resources}{requests}{cpu} && $c->{resources}{limits}{cpu}
            && $c->{resources}{requests}{memory}
            && $c->{resources}{limits}{memory},
            "$d->{name}: CPU and memory requested and limited");
        if ($role eq 'edge') {
            # one UDP port per worker from AMS_WEBRTC_PORT on
            # (on the machine's address: hostPort the same number)
            my @udp = grep { ($_->{protocol} // '') eq 'UDP' }
                @{ $c->{ports} };
            my $base = $env->{AMS_WEBRTC_PORT}{value} // 50000;
            my $n = $env->{AMS_WORKERS}{value} // 0;
            my $want = join ' ', map { $base + $_ } 0 .. $n - 1;
            is(join(' ', sort { $a <=> $b } map { $_->{containerPort} } @udp),
                $want, "$d->{name}: a WebRTC UDP port for each of its $n "
                . 'workers');
            is(join(' ', sort { $a <=> $b } map { $_->{hostPort} // 0 } @udp),
                $want, "$d->{name}: each on the same port of the machine");
        }
    }
}

# Services select pods, their ports land on container ports
for my $s (grep { $_->{kind} eq 'Service' } @objs) {
    my $spec = $s->{object}{spec};
    my @hit = grep { selects($spec->{selector}, pod_labels($_->{object})) }
        @deploys;
    ok(@hit, "Service $s->{name} selects pods of a Deployment");
    for my $p (@{ $spec->{ports} }) {
        my $target = $p->{targetPort} // $p->{port};
        for my $d (@hit) {
            my @match = grep {
                my $cp = port_of($_, $target);
                $cp && grep { $_->{containerPort} == $cp
                    && ($_->{protocol} // 'TCP') eq ($p->{protocol} // 'TCP') }
                    @{ $_->{ports} // [] }
            } containers($d->{object});
            ok(@match, "Service $s->{name} port $p->{port} reaches "
                . "$d->{name} ($target)");
        }
    }
}
my ($headless) = grep { $_->{kind} eq 'Service'
    && ($_->{object}{spec}{clusterIP} // '') eq 'None' } @objs;
ok($headless && 2 <= grep({ selects($headless->{object}{spec}{selector},
    pod_labels($deploy{$_})) } qw(nginx-ams-origin nginx-ams-edge)),
    'a headless Service finds origins and edges');

# PodDisruptionBudgets: one for each Deployment, selecting its pods
my %pdb_for;
for my $p (grep { $_->{kind} eq 'PodDisruptionBudget' } @objs) {
    my @hit = grep { selects($p->{object}{spec}{selector}{matchLabels},
        pod_labels($_->{object})) } @deploys;
    is(scalar @hit, 1, "PodDisruptionBudget $p->{name} selects the pods of "
        . 'one Deployment');
    $pdb_for{ $_->{name} } = 1 for @hit;
}
ok($pdb_for{ $_->{name} }, "Deployment $_->{name} has a PodDisruptionBudget")
    for @deploys;

# metric families /metrics exposes, from its source
my $metrics_c = slurp("$root/ngx_ams_api/ngx_ams_metrics.c");
my %family = map { $_ => 1 }
    $metrics_c =~ /ngx_ams_metrics_family\(\s*p,\s*last,\s*"(\w+)"/g;
ok($family{ams_streams_active} && $family{ams_stream_viewers},
    'the metric families are read from ngx_ams_metrics.c');

# prometheus-adapter rules: from real series, to the names HPAs use
my ($rules) = map { $_->{parsed}{'config.yaml'} }
    grep { $_->{kind} eq 'ConfigMap' && $_->{parsed}{'config.yaml'} } @objs;
my %adapted;
for my $r (@{ $rules->{rules} // [] }) {
    my $as = $r->{name}{as} // '(unnamed)';
    $adapted{$as} = 1;
    my ($series) = ($r->{seriesQuery} // '') =~ /^\s*(\w+)/;
    like($series // '', qr/^$r->{name}{matches}/,
        "adapter rule $as: name.matches its seriesQuery");
    is_deeply([ sort keys %{ $r->{resources}{overrides} // {} } ],
        [qw(namespace pod)], "adapter rule $as: per pod and namespace");
    for my $m (grep { !$family{$_} } "$r->{seriesQuery} $r->{metricsQuery}"
        =~ /\b(ams_\w+)/g) {
        fail("adapter rule $as: /metrics exposes $m");
    }
}
ok(scalar keys %adapted, 'prometheus-adapter rules are there');

# the scrape job labels each series the way the adapter rules map them
my ($scrape) = map { $_->{parsed}{'prometheus.yml'} }
    grep { $_->{kind} eq 'ConfigMap' && $_->{parsed}{'prometheus.yml'} } @objs;
my %target_label = map { ($_->{target_label} // '') => 1 }
    map { @{ $_->{relabel_configs} // [] } } @{ $scrape->{scrape_configs} // [] };
ok($target_label{namespace} && $target_label{pod} && $target_label{__address__},
    'the scrape job sets namespace, pod and the annotated port');

# HPAs
my %hpa_on;
for my $h (grep { $_->{kind} eq 'HorizontalPodAutoscaler' } @objs) {
    my $spec = $h->{object}{spec};
    my $ref = $spec->{scaleTargetRef};
    my $d = $ref->{kind} eq 'Deployment' && $ref->{apiVersion} eq 'apps/v1'
        && $deploy{ $ref->{name} };
    ok($d, "HPA $h->{name} scales Deployment $ref->{name} of the set");
    next unless $d;
    my $role = env_of((containers($d))[0])->{AMS_ROLE}{value};
    $hpa_on{$role} = $spec;
    for my $m (@{ $spec->{metrics} }) {
        if ($m->{type} eq 'Resource') {
            my $res = $m->{resource}{name};
            ok(!grep({ !$_->{resources}{requests}{$res} } containers($d)),
                "HPA $h->{name}: $res utilization is of a $res request");
        } elsif ($m->{type} eq 'Pods') {
            ok($adapted{ $m->{pods}{metric}{name} },
                "HPA $h->{name}: an adapter rule makes "
                . $m->{pods}{metric}{name});
        }
    }
}

# the thresholds of the issue
sub target {
    my ($spec, $type, $name) = @_;
    for my $m (@{ $spec->{metrics} // [] }) {
        next unless $m->{type} eq $type;
        my $x = $type eq 'Resource' ? $m->{resource} : $m->{pods};
        my $n = $type eq 'Resource' ? $x->{name} : $x->{metric}{name};
        next unless $n eq $name;
        return $x->{target}{averageUtilization} // $x->{target}{averageValue};
    }
    return '';
}
is(target($hpa_on{edge}, 'Resource', 'cpu'), 70, 'edges scale on CPU 70%');
ok(target($hpa_on{edge}, 'Pods', 'ams_viewers'), 'edges scale on viewers');
is(target($hpa_on{origin}, 'Resource', 'cpu'), 75, 'origins scale on CPU 75%');
ok(target($hpa_on{origin}, 'Pods', 'ams_publishers'),
    'origins scale on publishers');

# the kustomization: every resource there, every file listed or explained
my ($kust) = grep { $_->{kind} eq 'Kustomization' } @objs;
my %listed = map { $_ => 1 } @{ $kust->{object}{resources} // [] };
ok(-f "$dir/$_", "kustomization resource $_ exists") for sort keys %listed;
my $kust_text = slurp("$dir/kustomization.yaml");
for my $f (map { basename($_) } @files) {
    next if $f eq 'kustomization.yaml' || $listed{$f};
    like($kust_text, qr/#.*\Q$f\E/, "$f: not a kustomization resource, "
        . 'and its comment says so');
}
my %images = map { ((split /:/, $_->{image})[0], 1) }
    map { containers($_->{object}) } @deploys;
ok($images{ $_->{name} }, "kustomization image $_->{name} is the one the "
    . 'Deployments run') for @{ $kust->{object}{images} // [] };

done_testing();
