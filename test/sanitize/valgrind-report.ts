/**
 * Reads memcheck logs and counts the error and leak records whose stack passes
 * through the addon (bufshare.node / src-native). Prints both counts and exits 1
 * when the addon has any; records entirely inside node are counted but tolerated
 * (see run-valgrind.sh for what they are).
 */
import { readFileSync } from 'node:fs';

interface Record {
  title: string;
  frames: string[];
}

function records(log: string): Record[] {
  const out: Record[] = [];
  let current: Record | undefined;
  for (const raw of log.split('\n')) {
    const line = raw.replace(/^==\d+==\s?/, '');
    if (line.trim() === '') {
      current = undefined;
      continue;
    }
    if (/^\s+(at|by) 0x/.test(line)) {
      current?.frames.push(line.trim());
    } else if (current === undefined && /^(Invalid|Conditional|Use of uninit|Syscall param|Mismatched|Source and destination|Argument|\d[\d,]* bytes in [\d,]+ blocks are (definitely|indirectly) lost)/.test(line)) {
      current = { title: line.trim(), frames: [] };
      out.push(current);
    }
  }
  return out;
}

const ours = (r: Record): boolean => r.frames.some((f) => /bufshare\.node|src-native\//.test(f));
let total = 0;
let addon = 0;
for (const file of process.argv.slice(2)) {
  const all = records(readFileSync(file, 'utf8'));
  total += all.length;
  for (const r of all.filter(ours)) {
    addon++;
    console.log(`addon finding: ${r.title}\n  ${r.frames.slice(0, 12).join('\n  ')}`);
  }
}
console.log(`valgrind memcheck: ${addon} finding(s) in the addon, ${total - addon} in node itself (tolerated)`);
process.exit(addon === 0 ? 0 : 1);
