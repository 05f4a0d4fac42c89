/** Every measurement, in the order the table shows them. */
import type { Measurement } from '../measurement';
import { clientFill } from './client-fill';
import { compositor } from './compositor';
import { damageCopy } from './damage-copy';

export const measurements: readonly Measurement[] = [damageCopy, clientFill, compositor];
