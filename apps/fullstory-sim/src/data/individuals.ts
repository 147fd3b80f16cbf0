import { Prng } from '../prng.js';
import type { RowSource, TimeWindow } from './row.js';
import * as v from './vocabulary.js';

export const INDIVIDUAL_COLUMNS = [
  'IndvId', 'Created', 'Uid', 'DisplayName', 'Email', 'NumSessions', 'NumPages', 'NumEvents',
  'TotalSec', 'ActiveSec', 'AvgSessionSec', 'AvgSessionActiveSec', 'MaxSessionSec',
  'LastSessionNumPages', 'LastSessionNumEvents', 'LastSessionSec', 'LastSessionActiveSec',
  'LastSessionStart', 'LastPage', 'LastIp', 'LastLatLong', 'LastEventStart', 'LastBrowser',
  'LastDevice', 'LastPlatform', 'LastOperatingSystem', 'UserVars', 'user_plan_str',
  'user_totalSpent_real', 'user_vip_bool',
] as const;

/** Individuals with activity in the window; each has its last event inside it. */
export function individualRows(seed: string, window: TimeWindow, count: number): RowSource {
  const span = Math.max(1, window.endMs - window.startMs);
  return {
    columns: INDIVIDUAL_COLUMNS,
    row(index) {
      const rng = new Prng(seed, 'individual', index);
      const lastEvent = Math.min(window.endMs - 1, window.startMs + Math.floor(((index + rng.next()) * span) / count));
      const lastSession = lastEvent - rng.int(3_600_000);
      const sessions = 1 + rng.int(80);
      const totalSec = sessions * (30 + rng.int(1_200));
      const activeSec = Math.floor(totalSec * rng.next());
      const name = rng.pick(v.DISPLAY_NAMES);
      const plan = rng.pick(v.PLANS);
      return {
        IndvId: 9_007_199_254_740_993n + BigInt(index) * 104_729n,
        Created: new Date(lastSession - rng.int(400) * 86_400_000).toISOString(),
        Uid: rng.chance(0.75) ? `user-${index}` : '',
        DisplayName: name,
        Email: name ? `p${index}@${rng.pick(v.EMAIL_DOMAINS)}` : '',
        NumSessions: sessions,
        NumPages: sessions * (1 + rng.int(12)),
        NumEvents: sessions * (5 + rng.int(200)),
        TotalSec: totalSec,
        ActiveSec: activeSec,
        AvgSessionSec: Math.round((totalSec / sessions) * 100) / 100,
        AvgSessionActiveSec: Math.round((activeSec / sessions) * 100) / 100,
        MaxSessionSec: Math.floor(totalSec / sessions) + rng.int(600),
        LastSessionNumPages: 1 + rng.int(12),
        LastSessionNumEvents: 5 + rng.int(200),
        LastSessionSec: rng.int(3_600),
        LastSessionActiveSec: rng.int(1_800),
        LastSessionStart: new Date(lastSession).toISOString(),
        LastPage: `https://fruitshoppe.test${rng.pick(v.PATHS)}`,
        LastIp: rng.chance(0.8) ? `203.0.113.${rng.int(255)}` : '',
        LastLatLong: rng.pick(v.CITIES_LATLONG),
        LastEventStart: new Date(lastEvent).toISOString(),
        LastBrowser: rng.pick(v.BROWSERS),
        LastDevice: rng.pick(v.DEVICES),
        LastPlatform: rng.pick(['web', 'ios', 'android']),
        LastOperatingSystem: rng.pick(v.OPERATING_SYSTEMS),
        UserVars: { plan_str: plan, seats_int: 1 + rng.int(50) },
        user_plan_str: plan,
        user_totalSpent_real: Math.round(rng.next() * 1_000_000) / 100,
        user_vip_bool: rng.chance(0.1),
      };
    },
  };
}
