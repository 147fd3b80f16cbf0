// Realistic values, including the awkward ones: unicode, quotes, commas and newlines that CSV
// must quote, and empty strings.
export const DISPLAY_NAMES = [
  'Ada Lovelace', 'Zoë Ångström', '李小龍', 'José "Pepe" Núñez', 'Ørjan, Jr.', '🚀 Rocket Fan',
  'Mary-Jane O\'Neil', 'Σωκράτης', 'Анна Каренина', '', 'Jean\nDeux Lignes', 'Amélie Poulain',
];
export const EMAIL_DOMAINS = ['example.com', 'fruitshoppe.test', 'exemple.fr', '例子.测试'];
export const EVENT_TYPES = [
  'click', 'click', 'click', 'navigate', 'pageview', 'change', 'custom', 'custom', 'load',
  'request', 'thrash', 'abandon', 'cumulative_layout_shift', 'first_input_delay', 'console_message',
  'copy', 'paste', 'exception',
] as const;
export const CUSTOM_EVENT_NAMES = ['Product Added', 'Checkout Started', 'Order Completed', 'Plan Chosen', 'Größe gewählt'];
export const TARGET_TEXTS = ['Add to cart', 'Buy now, pay later', 'Submit\n(again)', '"Quoted" link', '→ Next', '', 'Réserver'];
export const SELECTORS = ['button.add%2Dto%2Dcart', 'a#checkout', 'div.menu > li:nth-child(2)', 'input[name=q]'];
export const PATHS = ['/', '/#/market', '/cart', '/checkout?step=2&coupon=SAVE10', '/products/über-shoes', '/search?q=a,b'];
export const BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Microsoft Edge', 'Opera', 'Mobile App', 'Unknown'];
export const DEVICES = ['Desktop', 'Mobile', 'Tablet', 'Unknown'];
export const OPERATING_SYSTEMS = ['OS X', 'Windows', 'iOS', 'Linux', 'Chrome OS', 'Unknown'];
export const PLANS = ['free', 'team', 'enterprise', 'entreprise-été'];
export const CITIES_LATLONG = ['39.0481,-77.4728', '37.7749,-122.4194', '48.8566,2.3522', '35.6762,139.6503', ''];
