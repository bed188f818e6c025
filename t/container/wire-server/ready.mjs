// Waits until HOST:PORT accepts a TCP connection, up to SECONDS (0: try
// once); exit status 0 when it did.  The wire server's healthcheck and the
// compose test's stand-in for mongo-init (there is no replica set to make).
//
//     node ready.mjs HOST PORT [SECONDS]

import net from 'node:net';

const [host, port, seconds = '0'] = process.argv.slice(2);
const deadline = Date.now() + parseFloat(seconds) * 1000;

function attempt() {
    const sock = net.connect({ host, port: parseInt(port, 10), timeout: 2000 });
    sock.on('connect', () => {
        console.log(`${host}:${port} accepts connections`);
        process.exit(0);
    });
    const retry = (err) => {
        sock.destroy();
        if (Date.now() >= deadline) {
            console.error(`${host}:${port}: ${err ? err.message : 'timed out'}`);
            process.exit(1);
        }
        setTimeout(attempt, 250);
    };
    sock.on('error', retry);
    sock.on('timeout', () => retry(null));
}

attempt();
