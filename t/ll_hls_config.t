# ll_hls and ll_hls_part_time: defaults that work, clear refusals.

use strict;
use warnings;

use lib 't/lib';
use Ams::TestNginx;

run_blocks();

__DATA__

=== TEST 1: ll_hls with fMP4 starts, default part time
--- main_config
ams {
    storage  $MEDIA;
    application LiveApp {
        hls_segment_type  fmp4;
        ll_hls            on;
    }
}
--- request
GET /LiveApp/streams/none/video.m3u8?_HLS_msn=3&_HLS_part=1
--- error_code: 404
--- no_error_log
[emerg]

=== TEST 2: ll_hls needs fMP4 segments
--- main_config
ams {
    application LiveApp {
        ll_hls  on;
    }
}
--- must_die
--- error_log
"ll_hls" needs "hls_segment_type fmp4"

=== TEST 3: parts of 200ms to 1s
--- main_config
ams {
    application LiveApp {
        hls_segment_type  fmp4;
        ll_hls_part_time  100ms;
    }
}
--- must_die
--- error_log
"ll_hls_part_time" must be 200ms to 1s

=== TEST 4: parts shorter than segments
--- main_config
ams {
    application LiveApp {
        hls_segment_type  fmp4;
        hls_time          1s;
        ll_hls            on;
        ll_hls_part_time  1s;
    }
}
--- must_die
--- error_log
"ll_hls_part_time" must be shorter than "hls_time"
