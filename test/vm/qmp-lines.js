// QMP's framing for the VM harness's plain-JavaScript host helpers (screendump-host.js,
// stall-watch.js): qemu writes one JSON object per line; a socket's 'data' chunks cut
// them anywhere.
'use strict';

/** A 'data' listener (the socket in utf8) that calls onLine with each whole line. */
function lineReader(onLine) {
  let buffered = '';
  return (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      onLine(line);
    }
  };
}

module.exports = { lineReader };
