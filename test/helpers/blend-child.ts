/**
 * A separate process for the blend test: the kernel is chosen once at load from
 * BUFSHARE_BLEND_KERNEL, so each kernel needs its own process. Prints the kernel
 * that ran and firstBlendMismatch(argv[2], argv[3]).
 */
import { blendKernel } from '../../lib';
import { firstBlendMismatch } from './blend-reference';

const seed = Number(process.argv[2]);
const iterations = Number(process.argv[3]);
process.stdout.write(JSON.stringify({ kernel: blendKernel(), firstMismatch: firstBlendMismatch(seed, iterations) }));
