// A MongoDB wire server in JavaScript (CongoDB from @push.rocks/smartmongo),
// memory only, for the store's MongoDB backend tests:
//
//     node server.mjs PORT [HOST]
//
// prints "congodb ready HOST:PORT" once it accepts connections, and exits
// on SIGTERM or SIGINT (everything it held is gone: memory storage).

import { CongoServer } from
    '@push.rocks/smartmongo/dist_ts/congodb/index.js';

const port = parseInt(process.argv[2] || '27017', 10);
const host = process.argv[3] || '127.0.0.1';

const server = new CongoServer({ port, host, storage: 'memory' });

let stopping = false;

async function stop() {
    if (stopping) {
        return;
    }
    stopping = true;
    try {
        await server.stop();
    } finally {
        process.exit(0);
    }
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);

try {
    await server.start();
} catch (err) {
    console.error(`congodb: cannot listen on ${host}:${port}: ${err.message}`);
    process.exit(1);
}

console.log(`congodb ready ${host}:${port}`);
