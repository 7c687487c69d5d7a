import { lang, languages, setLanguage, t } from '../i18n';

const names: Record<string, string> = { fi: 'Suomi', sv: 'Svenska', en: 'English' };

export function LangPicker() {
  return (
    <label class="lang-picker">
      <span class="sr-only">{t('settings.language')}</span>
      <select value={lang.value} onChange={(e) => setLanguage((e.target as HTMLSelectElement).value, true)}>
        {languages.map((l) => (
          <option value={l} key={l}>
            {names[l]}
          </option>
        ))}
      </select>
    </label>
  );
}
