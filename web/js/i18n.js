// Words of the page in Russian (the default) and English, and the formats that depend on the
// language: plurals, dates and times (always in the event's own time zone), prices.

const ru = {
  siteName: 'Доступно',
  tagline: 'События, на которые вы сможете прийти',
  skip: 'Перейти к содержанию',
  navLabel: 'Основное меню',
  navSearch: 'Поиск',
  navNeeds: 'Мои потребности',
  navLogin: 'Вход',
  navRegister: 'Регистрация',
  signedInAs: 'Вы вошли как {name}',
  logout: 'Выйти',
  loggedOut: 'Вы вышли из аккаунта.',
  switchTo: 'English',
  switchToLang: 'en',
  footer: 'Доступно — поиск событий с учётом потребностей людей с инвалидностью и маломобильных групп населения (МГН).',
  loading: 'Загрузка…',

  searchTitle: 'Найти событие, на которое вы сможете прийти',
  searchIntro: 'Выберите, что вам нужно, и мы покажем только те события, где это точно есть.',
  profileLegend: 'Профиль доступности',
  profileNone: 'Без профиля',
  profileHint: 'Профиль добавляет к поиску потребности своей группы МГН.',
  needsSummary: 'Отдельные потребности (выбрано: {n})',
  needsHint: 'Отметьте всё, что вам нужно: покажем события, где есть всё отмеченное.',
  groupLegend: '{title} (группа МГН «{mgn}»)',
  city: 'Город',
  anyCity: 'Любой город',
  category: 'Что',
  anyCategory: 'Любые события',
  datesLegend: 'Даты',
  dateFrom: 'С',
  dateTo: 'По',
  query: 'Название, описание или площадка',
  personalize: 'Если ничего не выбрано, учитывать мои сохранённые потребности',
  find: 'Найти',
  results: 'Результаты',
  searching: 'Ищем события…',
  found: ({ n, more }) => more
    ? `Показано ${n} ${plural(n, ['событие', 'события', 'событий'])}, есть ещё.`
    : n === 0 ? 'Ничего не нашлось. Попробуйте убрать часть условий.'
      : `Найдено ${n} ${plural(n, ['событие', 'события', 'событий'])}.`,
  loadedMore: ({ n, total, more }) => `Загружено ещё ${n}. Всего показано ${total}${more ? ', есть ещё' : ''}.`,
  applied: 'Все эти события подходят под: {list}.',
  appliedMine: 'Учтены ваши сохранённые потребности: {list}.',
  more: 'Показать ещё',
  accessible: 'Есть: {list}.',
  unconfirmed: 'Нет данных, есть ли: {list}.',
  lenientMatch: 'Подходит не наверняка: по части ваших потребностей нет данных.',
  noFacts: 'Сведений о доступности нет.',
  lenient: 'Показывать и события, где о части условий пока нет данных',
  lenientHint: 'Такие события будут отмечены: что именно не подтверждено.',
  asked: 'Искали события, где есть: {list}.',
  lenientShown: 'Показаны и события, где о части этого нет данных: они отмечены.',
  seatsLeft: ({ wheelchair, companion, asOf }) => [wheelchair != null && `Осталось мест для зрителей на креслах-колясках: ${wheelchair}`, companion != null && `мест для сопровождающих: ${companion}`].filter(Boolean).join(', ') + ` (на ${asOf}).`,

  backToResults: '← Назад к результатам',
  backToSearch: '← К поиску',
  breadcrumbs: 'Навигация',
  when: 'Когда',
  where: 'Где',
  what: 'Что',
  age: 'Возраст',
  price: 'Цена',
  priceFree: 'Бесплатно',
  priceUnknown: 'Цена не указана',
  description: 'Описание',
  accessibility: 'Доступность',
  sheetCaption: 'Доступность события и площадки',
  sheetNeed: 'Условие',
  sheetAnswer: 'Есть ли',
  sheetSummary: 'Есть: {yes}. Нет: {no}. Не применимо: {not_applicable}. Нет данных: {unknown}.',
  sheetSource: 'Откуда сведения',
  sheetFromHint: 'Сведения о площадке относятся ко всем событиям в ней, сведения о событии — только к этому событию.',
  from: { event: 'Сведения о событии', venue: 'Сведения о площадке', none: 'Никто не сообщал' },
  source: 'источник: {source}',
  verified: 'проверено {date}',
  sources: { organiser: 'организатор', venue_survey: 'обследование площадки', visitor_report: 'отзыв посетителя', import_a11yjson: 'импорт A11yJSON' },
  seats: 'Свободные места',
  groups: 'Группы МГН: {list}',
  photos: 'Фотографии',
  photoAlt: 'Фото {n} из {total}: {title}',
  updated: 'Сведения обновлены: {date}',
  notFound: 'Такого события нет. Возможно, его удалили.',
  eventTitle: 'Событие',

  answers: { yes: 'Есть', no: 'Нет', unknown: 'Нет данных', not_applicable: 'Не применимо' },

  loginTitle: 'Вход',
  registerTitle: 'Регистрация',
  email: 'Электронная почта',
  password: 'Пароль',
  passwordHint: 'От 8 до 128 символов; слишком простой пароль не подойдёт.',
  name: 'Как к вам обращаться',
  loginSubmit: 'Войти',
  registerSubmit: 'Создать аккаунт',
  noAccount: 'Нет аккаунта?',
  haveAccount: 'Уже есть аккаунт?',
  registerNeedsLegend: 'Ваши потребности',
  registerNeedsHint: 'Сохраним их в аккаунте: поиск без выбранных условий будет учитывать их.',
  fixErrors: 'Исправьте, пожалуйста:',
  required: 'Заполните поле «{label}».',
  badEmail: 'Введите адрес почты, например name@example.ru.',
  badPassword: 'Пароль должен быть от 8 до 128 символов.',
  wrongCredentials: 'Неверная почта или пароль.',
  emailTaken: 'Аккаунт с этой почтой уже есть. Войдите или укажите другую почту.',
  rateLimited: 'Слишком много попыток. Попробуйте снова через {minutes} мин.',
  fieldProblem: 'Поле «{label}»: {message}',
  welcome: 'Здравствуйте, {name}! Вы вошли.',
  sessionExpired: 'Время входа истекло. Войдите снова.',

  needsTitle: 'Мои потребности',
  needsIntroGuest: 'Отметьте, что вам нужно. Мы запомним это в этом браузере и подставим в поиск, а при регистрации сохраним в аккаунте.',
  needsIntroUser: 'Потребности, сохранённые в вашем аккаунте. Поиск без выбранных условий учитывает их.',
  needsNone: 'Потребности не выбраны.',
  needsSave: 'Запомнить',
  needsSaved: 'Запомнили: {list}.',
  needsSearch: 'Найти события с моими потребностями',
  needsRegister: 'Создать аккаунт с этими потребностями',
  needsSaveAccount: 'Сохранить в аккаунте',
  needsSavedAccount: 'Сохранено в аккаунте: {list}. Поиск без выбранных условий учитывает их.',
  eraseLink: 'Удалить аккаунт…',
  eraseTitle: 'Удаление аккаунта',
  eraseIntro: 'Аккаунт {email} будет удалён навсегда вместе с сохранёнными потребностями. Восстановить его нельзя. Чтобы подтвердить, введите пароль.',
  eraseSubmit: 'Удалить аккаунт навсегда',
  eraseCancel: 'Отмена',
  wrongPassword: 'Неверный пароль. Аккаунт не удалён.',
  erased: 'Аккаунт удалён. Вы вышли, и сведений о вас у нас не осталось.',

  errBlocked: 'Страница не может получить данные: сервер {api} работает, но не разрешает запросы со страницы {origin}. Нужно добавить {origin} в CORS_ALLOWED_ORIGINS сервера.',
  errOffline: 'Не удалось связаться с сервером {api}. Проверьте подключение к интернету и попробуйте ещё раз.',
  errServer: 'Сервер временно не может ответить. Попробуйте ещё раз через минуту.',
  errOther: 'Что-то пошло не так: {message}',
  retry: 'Повторить',
};

const en = {
  siteName: 'Dostupno',
  tagline: 'Events you can actually attend',
  skip: 'Skip to content',
  navLabel: 'Main menu',
  navSearch: 'Search',
  navNeeds: 'My needs',
  navLogin: 'Log in',
  navRegister: 'Sign up',
  signedInAs: 'Logged in as {name}',
  logout: 'Log out',
  loggedOut: 'You have logged out.',
  switchTo: 'Русский',
  switchToLang: 'ru',
  footer: 'Dostupno finds events for people with disabilities and limited mobility.',
  loading: 'Loading…',

  searchTitle: 'Find an event you can attend',
  searchIntro: 'Choose what you need and we will show only the events that certainly have it.',
  profileLegend: 'Accessibility profile',
  profileNone: 'No profile',
  profileHint: 'A profile adds the needs of its group to the search.',
  needsSummary: 'Individual needs ({n} chosen)',
  needsHint: 'Tick everything you need: events with all of it are shown.',
  groupLegend: '{title} (group “{mgn}”)',
  city: 'City',
  anyCity: 'Any city',
  category: 'What',
  anyCategory: 'Any kind of event',
  datesLegend: 'Dates',
  dateFrom: 'From',
  dateTo: 'To',
  query: 'Title, description or venue',
  personalize: 'When nothing is chosen, apply my saved needs',
  find: 'Search',
  results: 'Results',
  searching: 'Searching…',
  found: ({ n, more }) => more
    ? `Showing ${n} ${n === 1 ? 'event' : 'events'}; there are more.`
    : n === 0 ? 'Nothing found. Try removing some of the conditions.'
      : `Found ${n} ${n === 1 ? 'event' : 'events'}.`,
  loadedMore: ({ n, total, more }) => `Loaded ${n} more. Showing ${total}${more ? '; there are more' : ''}.`,
  applied: 'All these events offer: {list}.',
  appliedMine: 'Your saved needs apply: {list}.',
  more: 'Show more',
  accessible: 'Offers: {list}.',
  unconfirmed: 'Not known whether it offers: {list}.',
  lenientMatch: 'Possible match: some of your needs are not confirmed.',
  noFacts: 'No accessibility information.',
  lenient: 'Also show events where some of the conditions are not known yet',
  lenientHint: 'Such events are marked with what is not confirmed.',
  asked: 'Searched for: {list}.',
  lenientShown: 'Events where some of it is not known are shown too, marked as such.',
  seatsLeft: ({ wheelchair, companion, asOf }) => [wheelchair != null && `Wheelchair spaces left: ${wheelchair}`, companion != null && `companion seats: ${companion}`].filter(Boolean).join(', ') + ` (as of ${asOf}).`,

  backToResults: '← Back to results',
  backToSearch: '← To search',
  breadcrumbs: 'Navigation',
  when: 'When',
  where: 'Where',
  what: 'What',
  age: 'Age',
  price: 'Price',
  priceFree: 'Free',
  priceUnknown: 'Price not given',
  description: 'Description',
  accessibility: 'Accessibility',
  sheetCaption: 'Accessibility of the event and its venue',
  sheetNeed: 'Feature',
  sheetAnswer: 'Available',
  sheetSummary: 'Yes: {yes}. No: {no}. Not applicable: {not_applicable}. Not known: {unknown}.',
  sheetSource: 'Where it comes from',
  sheetFromHint: 'A venue fact holds for every event there; an event fact for this event only.',
  from: { event: 'Event fact', venue: 'Venue fact', none: 'Nobody has said' },
  source: 'source: {source}',
  verified: 'verified {date}',
  sources: { organiser: 'the organiser', venue_survey: 'a venue survey', visitor_report: 'a visitor’s report', import_a11yjson: 'an A11yJSON import' },
  seats: 'Seats left',
  groups: 'Groups: {list}',
  photos: 'Photos',
  photoAlt: 'Photo {n} of {total}: {title}',
  updated: 'Information updated: {date}',
  notFound: 'There is no such event. It may have been removed.',
  eventTitle: 'Event',

  answers: { yes: 'Yes', no: 'No', unknown: 'Not known', not_applicable: 'Not applicable' },

  loginTitle: 'Log in',
  registerTitle: 'Sign up',
  email: 'Email',
  password: 'Password',
  passwordHint: '8 to 128 characters; a very common password is refused.',
  name: 'Your name',
  loginSubmit: 'Log in',
  registerSubmit: 'Create account',
  noAccount: 'No account yet?',
  haveAccount: 'Already have an account?',
  registerNeedsLegend: 'Your needs',
  registerNeedsHint: 'We save them with your account: a search with nothing chosen applies them.',
  fixErrors: 'Please correct:',
  required: 'Fill in “{label}”.',
  badEmail: 'Enter an email address such as name@example.org.',
  badPassword: 'The password must have 8 to 128 characters.',
  wrongCredentials: 'Wrong email or password.',
  emailTaken: 'There is already an account with this email. Log in or use another email.',
  rateLimited: 'Too many attempts. Try again in {minutes} min.',
  fieldProblem: '“{label}”: {message}',
  welcome: 'Hello, {name}! You are logged in.',
  sessionExpired: 'Your login has expired. Please log in again.',

  needsTitle: 'My needs',
  needsIntroGuest: 'Tick what you need. We keep it in this browser for your searches, and save it with your account when you sign up.',
  needsIntroUser: 'The needs saved with your account. A search with nothing chosen applies them.',
  needsNone: 'No needs chosen.',
  needsSave: 'Remember',
  needsSaved: 'Remembered: {list}.',
  needsSearch: 'Find events for my needs',
  needsRegister: 'Create an account with these needs',
  needsSaveAccount: 'Save to my account',
  needsSavedAccount: 'Saved to your account: {list}. A search with nothing chosen applies them.',
  eraseLink: 'Delete my account…',
  eraseTitle: 'Delete my account',
  eraseIntro: 'The account {email} will be deleted for good, with its saved needs. It cannot be restored. Enter your password to confirm.',
  eraseSubmit: 'Delete my account for good',
  eraseCancel: 'Cancel',
  wrongPassword: 'Wrong password. The account was not deleted.',
  erased: 'Your account is deleted. You are logged out and we keep nothing about you.',

  errBlocked: 'The page cannot get data: the server {api} is running but does not accept requests from the page {origin}. {origin} must be added to the server’s CORS_ALLOWED_ORIGINS.',
  errOffline: 'Could not reach the server {api}. Check your connection and try again.',
  errServer: 'The server cannot answer right now. Try again in a minute.',
  errOther: 'Something went wrong: {message}',
  retry: 'Try again',
};

const dictionaries = { ru, en };
const locales = { ru: 'ru-RU', en: 'en-GB' };
let lang = 'ru';

/** The current language: "ru" or "en". */
export const currentLang = () => lang;

/** Sets the language of the page and of html[lang]. */
export function setLang(l) {
  lang = dictionaries[l] ? l : 'ru';
  document.documentElement.lang = lang;
}

/** The text for key, with {name} placeholders filled from vars. */
export function t(key, vars = {}) {
  const v = dictionaries[lang][key] ?? ru[key];
  if (typeof v === 'function') return v(vars);
  if (typeof v !== 'string') return v;
  return v.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

/** Russian plural forms [one, few, many]; other languages use one/other. */
export function plural(n, forms) {
  const rule = new Intl.PluralRules('ru-RU').select(n);
  return rule === 'one' ? forms[0] : rule === 'few' ? forms[1] : forms[2];
}

/** The Russian or English title of a catalog entry ({title: {ru, en}}). */
export const titleOf = (x) => (x.title && (x.title[lang] || x.title.ru)) || x.code;

/** A city's or category's name: the catalog gives one (Russian) name; English spells the slug. */
export function placeName(place) {
  if (lang === 'ru' || !place) return place ? place.name : '';
  return place.slug.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ');
}

/** A list joined as the language joins it ("a, b и c"). */
export const list = (items) => new Intl.ListFormat(locales[lang], { type: 'conjunction' }).format(items);

/** A moment shown in the time zone tz (the event's), with the zone's name. */
export function formatWhen(iso, tz, opts = {}) {
  const f = new Intl.DateTimeFormat(locales[lang], {
    timeZone: tz, weekday: opts.short ? 'short' : 'long', day: 'numeric', month: 'long',
    year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short',
  });
  return f.format(new Date(iso));
}

/** Only the time of a moment, in tz (the end of an event that ends the day it starts). */
export function formatTime(iso, tz) {
  return new Intl.DateTimeFormat(locales[lang], { timeZone: tz, hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}

/** Whether two moments fall on the same day in tz. */
export function sameDay(a, b, tz) {
  const f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
  return f.format(new Date(a)) === f.format(new Date(b));
}

/** A date (no time) in the visitor's own zone; a bare day ("2026-05-01") is that day anywhere. */
export const formatDate = (iso) => new Intl.DateTimeFormat(locales[lang], { dateStyle: 'long', timeZone: /^\d{4}-\d{2}-\d{2}$/.test(iso) ? 'UTC' : undefined }).format(new Date(iso));

/** A price range in its currency. */
export function formatPrice(p) {
  if (!p || (p.min == null && p.max == null)) return t('priceUnknown');
  if (p.max === 0 || (p.min === 0 && p.max == null)) return t('priceFree');
  const f = new Intl.NumberFormat(locales[lang], p.currency ? { style: 'currency', currency: p.currency, maximumFractionDigits: 0 } : {});
  if (p.min != null && p.max != null && p.min !== p.max) return f.formatRange ? f.formatRange(p.min, p.max) : `${f.format(p.min)} – ${f.format(p.max)}`;
  return f.format(p.min ?? p.max);
}
