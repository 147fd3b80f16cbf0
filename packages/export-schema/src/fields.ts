/**
 * The FullStory export fields fsx knows, with their types, as FullStory's docs and its own loader
 * (hauser) describe them. Anything else in a file is a custom field (typed by its suffix) or a field
 * FullStory added later (kept as text).
 */
export type FieldType = 'int64' | 'timestamp' | 'string' | 'number' | 'bool' | 'json';

export interface FieldSpec {
  name: string;
  type: FieldType;
}

const spec = (type: FieldType, names: string[]): FieldSpec[] =>
  names.map((name) => ({ name, type }));

export const EVENT_FIELDS: readonly FieldSpec[] = [
  ...spec('int64', ['IndvId', 'UserId', 'SessionId', 'PageId']),
  ...spec('timestamp', ['UserCreated', 'SessionStart', 'PageStart', 'EventStart']),
  ...spec('string', [
    'UserAppKey',
    'UserDisplayName',
    'UserEmail',
    'EventType',
    'EventSubType',
    'EventCustomName',
    'EventTargetText',
    'EventTargetSelector',
    'EventVarErrorKind',
    'EventVarFields',
    'EventWebSourceFileUrl',
    'EventMobileSourceFile',
    'PageName',
    'PageUrl',
    'PageRefererUrl',
    'PageIp',
    'PageLatLong',
    'PageUserAgent',
    'PageBrowser',
    'PageBrowserVersion',
    'PageDevice',
    'PagePlatform',
    'PageOperatingSystem',
    'ReqUrl',
    'ReqMethod',
    'AppName',
    'AppPackageName',
    'AppDeviceModel',
    'AppDeviceVendor',
    'AppVersion',
    'AppOsVersion',
    'AppViewName',
    'PageAgent',
    'EventTargetSelectorTok',
  ]),
  ...spec('number', [
    'EventDuration',
    'EventSecondaryDuration',
    'EventPageOffset',
    'EventSessionOffset',
    'EventFirstInputDelay',
    'EventCumulativeLayoutShift',
    'EventModFrustrated',
    'EventModDead',
    'EventModError',
    'EventModSuspicious',
    'PageDuration',
    'PageActiveDuration',
    'PageScreenWidth',
    'PageScreenHeight',
    'PageViewportWidth',
    'PageViewportHeight',
    'PageNumEvents',
    'PageNumDerivedEvents',
    'PageNumInfos',
    'PageNumWarnings',
    'PageNumErrors',
    'PageClusterId',
    'PageMaxScrollDepthPercent',
    'LoadDomContentTime',
    'LoadEventTime',
    'LoadFirstPaintTime',
    'LoadLargestPaintTime',
    'ReqStatus',
  ]),
];

export const INDIVIDUAL_FIELDS: readonly FieldSpec[] = [
  ...spec('int64', ['IndvId']),
  ...spec('timestamp', ['Created', 'LastSessionStart', 'LastEventStart']),
  ...spec('string', [
    'Uid',
    'DisplayName',
    'Email',
    'LastPage',
    'LastIp',
    'LastLatLong',
    'LastBrowser',
    'LastDevice',
    'LastPlatform',
    'LastOperatingSystem',
  ]),
  ...spec('number', [
    'NumSessions',
    'NumPages',
    'NumEvents',
    'TotalSec',
    'ActiveSec',
    'AvgSessionSec',
    'AvgSessionActiveSec',
    'MaxSessionSec',
    'LastSessionNumPages',
    'LastSessionNumEvents',
    'LastSessionSec',
    'LastSessionActiveSec',
  ]),
  ...spec('json', ['UserVars']),
];

const CUSTOM_PREFIX = /^(user|evt|page)_/;
const CUSTOM_SUFFIX: Record<string, FieldType> = {
  _str: 'string',
  _int: 'int64',
  _real: 'number',
  _bool: 'bool',
  _date: 'timestamp',
};

/**
 * The type of a custom field from FullStory's suffix (`evt_price_real` is a number). Plural
 * suffixes (`_strs`, `_ints`, …) are arrays and kept as JSON. Undefined for non-custom names.
 */
export function customFieldType(name: string): FieldType | undefined {
  if (!CUSTOM_PREFIX.test(name)) return undefined;
  for (const [suffix, type] of Object.entries(CUSTOM_SUFFIX)) {
    if (name.endsWith(suffix)) return type;
    if (name.endsWith(`${suffix}s`)) return 'json';
  }
  return 'string';
}

export type ExportKind = 'events' | 'individuals';

const KNOWN: Record<ExportKind, Map<string, FieldType>> = {
  events: new Map(EVENT_FIELDS.map((f) => [f.name, f.type])),
  individuals: new Map(INDIVIDUAL_FIELDS.map((f) => [f.name, f.type])),
};

/** Whether `name` is one of FullStory's documented fields for `kind` (not a custom or new one). */
export function isCatalogField(kind: ExportKind, name: string): boolean {
  return KNOWN[kind].has(name);
}

/** The type of any field that can appear in an export of `kind`; unknown fields are text. */
export function fieldType(kind: ExportKind, name: string): FieldType {
  return KNOWN[kind].get(name) ?? customFieldType(name) ?? 'string';
}
