/**
 * A separate process for the planner's survey test: the survey (AVX2 or scalar)
 * is chosen once at load from BUFSHARE_PLAN_SURVEY, so each needs its own
 * process. Prints the survey that ran and the plans of planCases(argv[2]).
 */
import { planSurvey } from '../../lib/native';
import { planCases } from './plan-cases';

const seed = Number(process.argv[2]);
process.stdout.write(JSON.stringify({ survey: planSurvey(), plans: planCases(seed) }));
