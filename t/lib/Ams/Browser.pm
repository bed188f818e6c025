package Ams::Browser;

# Headless Chromium with hls.js and dash.js against a test nginx: the
# player page and the players copied where the workers read them (served
# under /www/), and t/browser/watch.js run on a stream's URL.

use strict;
use warnings;

use Exporter 'import';
use File::Copy qw(copy);
use File::Path qw(make_path);
use FindBin;
use JSON::PP;
use Ams::Media qw(slurp);

our @EXPORT = qw(browser_missing www_location www_setup watch);

my $browser = "$FindBin::Bin/browser";
my $lib = "$browser/node_modules";

# why the browser tests cannot run here, or undef
sub browser_missing {
    # the AddressSanitizer pass of CI: the players' C paths are the
    # packager's, which the other tests cover, and they cost minutes
    return 'AMS_NO_BROWSER is set' if $ENV{AMS_NO_BROWSER};

    return 'needs chromium and npm packages (./build.sh test installs them)'
        unless -x '/usr/bin/chromium' && -d "$lib/playwright-core";

    my ($node) = `node --version 2>/dev/null` =~ /^v(\d+)/;
    return 'playwright-core needs Node.js 20 or later'
        unless $node && $node >= 20;

    return undef;
}

# a server {} location for the page, with the time endpoint DASH players
# synchronise against
sub www_location {
    return <<'EOF1';
location /www/ {
    root  $PREFIX;
}
location = /ams/time {
    ams_time;
}
EOF1
}

# copies the page and the players under $prefix/www
sub www_setup {
    my ($prefix) = @_;
    my $www = "$prefix/www";

    make_path("$www/lib/hls.js/dist", "$www/lib/dashjs/dist/modern/umd");
    copy("$lib/hls.js/dist/hls.min.js", "$www/lib/hls.js/dist/") or die $!;
    copy("$lib/dashjs/dist/modern/umd/dash.all.min.js",
         "$www/lib/dashjs/dist/modern/umd/") or die $!;

    (my $page = slurp("$browser/player.html")) =~ s{src="/lib/}{src="/www/lib/}g;
    open my $fh, '>', "$www/player.html" or die $!;
    print $fh $page;
    close $fh;
}

# plays $src with $kind (hls, dash) and watches it: watch.js's result
sub watch {
    my ($http, $kind, $src, @opts) = @_;
    my $url = "$http/www/player.html?kind=$kind&src=$http$src";
    my $args = join ' ', map { "'$_'" } @opts;
    my $out = `node '$browser/watch.js' '$url' $args 2>&1`;

    return eval { decode_json((split /\n/, $out)[-1]) }
           || { errors => [$out], console => [] };
}

1;
