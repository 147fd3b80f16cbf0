import { Prng } from '../prng.js';
import type { RowSource, SimRow, TimeWindow } from './row.js';
import * as v from './vocabulary.js';

const ID_BASE_SMALL = 4_503_599_627_370_496n; // 2^52: realistic ids below 2^53
const ID_BASE_LARGE = 9_007_199_254_740_993n; // 2^53 + 1: the first id a double cannot hold

export const EVENT_COLUMNS = [
  'IndvId', 'UserId', 'SessionId', 'PageId', 'UserCreated', 'UserAppKey', 'UserDisplayName',
  'UserEmail', 'EventStart', 'EventType', 'EventSubType', 'EventCustomName', 'EventTargetText',
  'EventTargetSelector', 'EventModFrustrated', 'EventModDead', 'EventModError', 'EventModSuspicious',
  'EventCumulativeLayoutShift', 'EventFirstInputDelay', 'SessionStart', 'PageStart', 'PageDuration',
  'PageActiveDuration', 'PageUrl', 'PageRefererUrl', 'PageIp', 'PageLatLong', 'PageUserAgent',
  'PageBrowser', 'PageDevice', 'PageOperatingSystem', 'PageScreenWidth', 'PageScreenHeight',
  'PageNumInfos', 'PageNumWarnings', 'PageNumErrors', 'PageClusterId', 'ReqUrl', 'ReqMethod',
  'ReqStatus', 'evt_price_real', 'evt_plan_str', 'evt_quantity_int', 'evt_gift_bool',
  'evt_order.order_id_str', 'user_signup_date', 'user_totalSpent_real',
] as const;

/** A user, stable across every row that belongs to them. */
function user(seed: string, userIndex: number) {
  const rng = new Prng(seed, 'user', userIndex);
  const base = userIndex % 2 === 0 ? ID_BASE_LARGE : ID_BASE_SMALL;
  const id = base + BigInt(userIndex) * 7_919n + BigInt(rng.int(7_000));
  const name = rng.pick(v.DISPLAY_NAMES);
  return {
    id,
    appKey: rng.chance(0.7) ? `user-${userIndex}` : '',
    name,
    email: name && rng.chance(0.8) ? `u${userIndex}@${rng.pick(v.EMAIL_DOMAINS)}` : '',
    browser: rng.pick(v.BROWSERS),
    device: rng.pick(v.DEVICES),
    os: rng.pick(v.OPERATING_SYSTEMS),
    latLong: rng.pick(v.CITIES_LATLONG),
    plan: rng.pick(v.PLANS),
    signupDaysAgo: 1 + rng.int(900),
  };
}

export function eventRows(seed: string, window: TimeWindow, count: number): RowSource {
  const span = Math.max(1, window.endMs - window.startMs);
  const users = Math.max(3, Math.ceil(count / 40));
  return {
    columns: EVENT_COLUMNS,
    row(index) {
      const rng = new Prng(seed, 'event', index);
      // Rows spread evenly over the window, ascending; never at or past its exclusive end.
      const at = Math.min(window.endMs - 1, window.startMs + Math.floor(((index + rng.next()) * span) / count));
      const u = user(seed, rng.int(users));
      const sessionStart = at - rng.int(30 * 60_000);
      const pageStart = Math.max(sessionStart, at - rng.int(5 * 60_000));
      const type = rng.pick(v.EVENT_TYPES);
      const row: SimRow = {
        IndvId: u.id,
        UserId: u.id + BigInt(rng.int(3)),
        SessionId: u.id * 3n + BigInt(Math.floor(sessionStart / 1000) % 100_000),
        PageId: u.id * 5n + BigInt(Math.floor(pageStart / 1000) % 100_000),
        UserCreated: new Date(at - u.signupDaysAgo * 86_400_000).toISOString(),
        UserAppKey: u.appKey,
        UserDisplayName: u.name,
        UserEmail: u.email,
        EventStart: new Date(at).toISOString(),
        EventType: type,
        SessionStart: new Date(sessionStart).toISOString(),
        PageStart: new Date(pageStart).toISOString(),
        PageDuration: 1_000 + rng.int(300_000),
        PageActiveDuration: rng.int(200_000),
        PageUrl: `https://fruitshoppe.test${rng.pick(v.PATHS)}`,
        PageRefererUrl: rng.chance(0.5) ? `https://search.example${rng.pick(v.PATHS)}` : '',
        PageIp: rng.chance(0.8) ? `198.51.100.${rng.int(255)}` : '',
        PageLatLong: u.latLong,
        PageUserAgent: `Mozilla/5.0 (${u.os}) ${u.browser}/${100 + rng.int(30)}.0`,
        PageBrowser: u.browser,
        PageDevice: u.device,
        PageOperatingSystem: u.os,
        PageScreenWidth: 320 + rng.int(3000),
        PageScreenHeight: 480 + rng.int(1800),
        PageNumInfos: rng.int(5),
        PageNumWarnings: rng.int(4),
        PageNumErrors: rng.int(3),
        PageClusterId: rng.int(2_000),
      };
      addEventDetails(row, type, rng);
      if (rng.chance(0.3)) {
        row.user_signup_date = new Date(at - u.signupDaysAgo * 86_400_000).toISOString();
        row.user_totalSpent_real = Math.round(rng.next() * 1_000_000) / 100;
      }
      return row;
    },
  };
}

function addEventDetails(row: SimRow, type: string, rng: Prng): void {
  if (type === 'click' || type === 'thrash') {
    row.EventTargetText = rng.pick(v.TARGET_TEXTS);
    row.EventTargetSelector = rng.pick(v.SELECTORS);
    row.EventModFrustrated = type === 'thrash' ? 3 + rng.int(5) : 0;
    row.EventModDead = rng.int(2);
    row.EventModError = rng.int(4);
    row.EventModSuspicious = rng.int(3);
  } else if (type === 'navigate') {
    row.EventSubType = rng.pick(['navigate', 'reload', 'back_forward']);
  } else if (type === 'custom') {
    row.EventCustomName = rng.pick(v.CUSTOM_EVENT_NAMES);
    row.evt_price_real = Math.round(rng.next() * 50_000) / 100;
    row.evt_plan_str = rng.pick(v.PLANS);
    row.evt_quantity_int = 1 + rng.int(9);
    row.evt_gift_bool = rng.chance(0.2);
    row['evt_order.order_id_str'] = `ord_${rng.int(1e9).toString(36)}`;
  } else if (type === 'cumulative_layout_shift') {
    row.EventCumulativeLayoutShift = Math.round(rng.next() * 1e6) / 1e6;
  } else if (type === 'first_input_delay') {
    row.EventFirstInputDelay = rng.int(800);
  } else if (type === 'request') {
    row.ReqUrl = `https://api.fruitshoppe.test/v1/cart?item=${rng.int(1000)}`;
    row.ReqMethod = rng.pick(['GET', 'POST', 'PUT']);
    row.ReqStatus = rng.pick([200, 200, 201, 404, 500]);
  }
}
