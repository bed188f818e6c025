// Needs node-datachannel (libdatachannel, what OBS links), installed
// outside the tree:  npm install node-datachannel@0.33.4 in a scratch
// directory, then  NODE_PATH=THAT/node_modules node gen_obs.js > obs_whip.sdp
//
// The offer OBS Studio's WHIP output makes (plugins/obs-webrtc/whip-output.cpp):
// libdatachannel, audio mid "0" Opus pt 111, video mid "1" H.264 pt 96,
// sendonly, one SSRC each, then setLocalDescription() and the offer.
const ndc = require('node-datachannel');
const pc = new ndc.PeerConnection('obs', { iceServers: [] });
const cname = 'obs-cname', msid = 'obs-stream';
const a = new ndc.Audio('0', 'SendOnly');
a.addOpusCodec(111);
a.addSSRC(1234567, cname, msid, msid + '-audio');
pc.addTrack(a);
const v = new ndc.Video('1', 'SendOnly');
v.addH264Codec(96);
v.addSSRC(2345678, cname, msid, msid + '-video');
pc.addTrack(v);
pc.onGatheringStateChange((s) => {
  if (s === 'complete') {
    process.stdout.write(pc.localDescription().sdp);
    pc.close(); ndc.cleanup();
  }
});
pc.setLocalDescription();
