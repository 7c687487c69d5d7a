import { helpOpen } from '../store';
import { t } from '../i18n';
import { Dialog } from './Dialog';

export function Help() {
  const rows: [string, string][] = [
    ['Alt+↓ / Alt+↑', t('help.nextPrev')],
    ['Alt+1 … Alt+9', t('help.jump')],
    ['j / k', t('help.nextPrev')],
    ['Alt+Q', t('help.queue')],
    ['Alt+M', t('help.mine')],
    ['/ , r', t('help.focus')],
    ['Alt+/', t('help.canned')],
    ['/shortcut', t('help.cannedInline')],
    ['Enter', t('help.send')],
    ['Shift+Enter', t('help.newline')],
    ['Alt+W', t('help.close')],
    ['?', t('help.toggle')],
    ['Esc', t('help.escape')],
  ];
  return (
    <Dialog title={t('help.title')} onClose={() => (helpOpen.value = false)}>
      <table class="keys">
        <caption class="sr-only">{t('help.title')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('help.key')}</th>
            <th scope="col">{t('help.action')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([k, a]) => (
            <tr key={k + a}>
              <td>
                <kbd>{k}</kbd>
              </td>
              <td>{a}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
}
