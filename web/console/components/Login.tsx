import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { acceptInvite, login, errorText } from '../store';
import { t } from '../i18n';
import { LangPicker } from './LangPicker';

export function Login() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await login(email, password);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form class="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div class="brand brand-lg" aria-hidden="true">
          <span class="brand-mark">T</span> Tiski
        </div>
        <h1 id="login-title">{t('login.title')}</h1>
        <p class="muted">{t('login.subtitle')}</p>
        <label class="field">
          <span>{t('login.email')}</span>
          <input type="email" name="email" autoComplete="username" required value={email}
            onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
        <label class="field">
          <span>{t('login.password')}</span>
          <input type="password" name="password" autoComplete="current-password" required value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        {error && <p class="form-error" role="alert">{error}</p>}
        <button class="btn btn-primary btn-block" type="submit" disabled={busy}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
        <div class="login-foot">
          <LangPicker />
        </div>
      </form>
    </main>
  );
}

/** The page an invitation link opens: choose a password, then sign in. */
export function AcceptInvite({ token }: { token: string }) {
  const [info, setInfo] = useState<{ email: string; name: string; tenant: string | { name: string } } | null>(null);
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api<{ email: string; name: string; tenant: string | { name: string } }>('GET', '/invites/' + encodeURIComponent(token))
      .then(setInfo)
      .catch((e) => setError(errorText(e)));
  }, [token]);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await acceptInvite(token, password);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const org = info ? (typeof info.tenant === 'string' ? info.tenant : info.tenant?.name) : '';
  return (
    <main class="login">
      <form class="login-card" onSubmit={submit} aria-labelledby="invite-title">
        <div class="brand brand-lg" aria-hidden="true">
          <span class="brand-mark">T</span> Tiski
        </div>
        <h1 id="invite-title">{t('invite.title')}</h1>
        {info && <p class="muted">{t('invite.subtitle', { name: info.name, org: org ?? '' })}</p>}
        {info && (
          <>
            <label class="field">
              <span>{t('login.email')}</span>
              <input type="email" value={info.email} readOnly autoComplete="username" />
            </label>
            <label class="field">
              <span>{t('invite.password')}</span>
              <input type="password" autoComplete="new-password" required minLength={10} value={password}
                onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
            </label>
          </>
        )}
        {error && <p class="form-error" role="alert">{error}</p>}
        {info && (
          <button class="btn btn-primary btn-block" type="submit" disabled={busy}>
            {t('invite.submit')}
          </button>
        )}
        <div class="login-foot">
          <LangPicker />
        </div>
      </form>
    </main>
  );
}
