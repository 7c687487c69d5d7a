import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { attempt, canned, departments, isAdmin, loadCanned, loadTeam, me, showToast, sites, users } from '../store';
import { t } from '../i18n';
import type { Canned, Department, PrechatField, Role, Site, User } from '../types';
import { Avatar } from './Avatar';
import { Dialog } from './Dialog';
import { Icon } from './Icon';

type Tab = 'sites' | 'users' | 'departments' | 'canned';

/** Sites, users, departments and canned responses; every change is live. */
export function Admin() {
  const [tab, setTab] = useState<Tab>('sites');
  useEffect(() => {
    void loadSites();
  }, []);
  if (!isAdmin.value) return <main class="page"><p>{t('admin.forbidden')}</p></main>;
  const tabs: [Tab, string][] = [
    ['sites', t('admin.sites')],
    ['users', t('admin.users')],
    ['departments', t('admin.departments')],
    ['canned', t('admin.canned')],
  ];
  return (
    <main class="page" aria-labelledby="admin-title">
      <div class="page-head">
        <div>
          <h1 id="admin-title">{t('admin.title')}</h1>
          <p class="muted">{t('admin.subtitle')}</p>
        </div>
      </div>
      <div class="admin">
        <nav class="subnav" aria-label={t('admin.title')}>
          {tabs.map(([id, label]) => (
            <button key={id} class={tab === id ? 'active' : ''} aria-current={tab === id ? 'page' : undefined} onClick={() => setTab(id)}>
              {label}
            </button>
          ))}
        </nav>
        <div>
          {tab === 'sites' && <Sites />}
          {tab === 'users' && <Users />}
          {tab === 'departments' && <Departments />}
          {tab === 'canned' && <CannedAdmin />}
        </div>
      </div>
    </main>
  );
}

async function loadSites() {
  const r = await attempt(() => api<{ sites: Site[] }>('GET', '/sites'));
  if (r) sites.value = r.sites;
}

// ---- sites ----

const fieldNames: PrechatField['name'][] = ['name', 'email', 'phone', 'message'];
const langs = ['fi', 'sv', 'en'] as const;

function Sites() {
  const [id, setId] = useState<string>('');
  const list = sites.value;
  const cur = list.find((s) => s.id === id) ?? list[0];
  if (!cur) return <p class="muted">{t('common.loading')}</p>;
  return (
    <>
      {list.length > 1 && (
        <label class="field site-pick">
          <span>{t('admin.site')}</span>
          <select value={cur.id} onChange={(e) => setId((e.target as HTMLSelectElement).value)}>
            {list.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
          </select>
        </label>
      )}
      <SiteForm key={cur.id + cur.widget_key} site={cur} />
    </>
  );
}

function SiteForm({ site }: { site: Site }) {
  const [name, setName] = useState(site.name);
  const [language, setLanguage] = useState(site.language);
  const [timezone, setTimezone] = useState(site.timezone);
  const [color, setColor] = useState(site.settings.color);
  const [position, setPosition] = useState(site.settings.position);
  const [greeting, setGreeting] = useState<Record<string, string>>({ ...site.settings.greeting });
  const [preview, setPreview] = useState(site.settings.typing_preview);
  const [origins, setOrigins] = useState((site.allowed_origins ?? []).join('\n'));
  const [prechatOn, setPrechatOn] = useState(!!site.settings.prechat?.enabled);
  const [fields, setFields] = useState<PrechatField[]>(site.settings.prechat?.fields ?? []);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [previewLang, setPreviewLang] = useState<string>(site.language);

  const toggleField = (n: PrechatField['name'], on: boolean) =>
    setFields(on ? [...fields.filter((f) => f.name !== n), { name: n, required: false }] : fields.filter((f) => f.name !== n));
  const setRequired = (n: PrechatField['name'], req: boolean) => setFields(fields.map((f) => (f.name === n ? { ...f, required: req } : f)));

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const body = {
        name,
        language,
        timezone,
        allowed_origins: origins.split(/\s+/).map((o) => o.trim()).filter(Boolean),
        settings: {
          ...site.settings,
          color,
          position,
          greeting,
          typing_preview: preview,
          prechat: { enabled: prechatOn, fields: fieldNames.map((n) => fields.find((f) => f.name === n)).filter(Boolean) },
        },
      };
      const s = await api<Site>('PATCH', '/sites/' + encodeURIComponent(site.id), body);
      sites.value = sites.value.map((x) => (x.id === s.id ? s : x));
      showToast(t('admin.saved'));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(site.embed_snippet ?? '');
      showToast(t('admin.copied'));
    } catch {
      showToast(t('admin.copyFailed'), 'error');
    }
  };
  return (
    <form onSubmit={save} aria-labelledby="site-form-title">
      <div class="grid-2">
        <section class="card">
          <div class="card-head">
            <h2 id="site-form-title">{t('admin.siteSettings')}</h2>
            <span class="muted">{t('admin.liveHint')}</span>
          </div>
          <div class="card-pad">
            <div class="form-grid">
              <label class="field span-2">
                <span>{t('admin.siteName')}</span>
                <input type="text" value={name} required maxLength={200} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
              </label>
              <label class="field">
                <span>{t('admin.defaultLanguage')}</span>
                <select value={language} onChange={(e) => setLanguage((e.target as HTMLSelectElement).value)}>
                  {langs.map((l) => <option key={l} value={l}>{t(('lang.' + l) as 'lang.fi')}</option>)}
                </select>
              </label>
              <label class="field">
                <span>{t('admin.timezone')}</span>
                <input type="text" value={timezone} onInput={(e) => setTimezone((e.target as HTMLInputElement).value)} />
              </label>
            </div>
            <h3 class="section-title">{t('admin.appearance')}</h3>
            <div class="form-grid">
              <div class="field">
                <span id="color-label">{t('admin.color')}</span>
                <div class="color-row">
                  <input type="color" value={color} aria-labelledby="color-label" onInput={(e) => setColor((e.target as HTMLInputElement).value)} />
                  <input type="text" value={color} aria-label={t('admin.colorHex')} pattern="#[0-9a-fA-F]{6}" maxLength={7} data-testid="site-color"
                    onInput={(e) => setColor((e.target as HTMLInputElement).value)} />
                </div>
              </div>
              <fieldset class="field radio-row">
                <legend>{t('admin.position')}</legend>
                <label class="check">
                  <input type="radio" name="position" checked={position === 'left'} onChange={() => setPosition('left')} /> {t('admin.left')}
                </label>
                <label class="check">
                  <input type="radio" name="position" checked={position === 'right'} onChange={() => setPosition('right')} /> {t('admin.right')}
                </label>
              </fieldset>
            </div>
            <h3 class="section-title">{t('admin.greeting')}</h3>
            {langs.map((l) => (
              <label class="field" key={l}>
                <span>{t(('lang.' + l) as 'lang.fi')}</span>
                <input type="text" value={greeting[l] ?? ''} maxLength={300} data-testid={'greeting-' + l}
                  onFocus={() => setPreviewLang(l)}
                  onInput={(e) => setGreeting({ ...greeting, [l]: (e.target as HTMLInputElement).value })} />
              </label>
            ))}
            <h3 class="section-title">{t('admin.behaviour')}</h3>
            <label class="check">
              <input type="checkbox" checked={preview} onChange={(e) => setPreview((e.target as HTMLInputElement).checked)} />
              {t('admin.typingPreview')}
            </label>
            <label class="check">
              <input type="checkbox" checked={prechatOn} onChange={(e) => setPrechatOn((e.target as HTMLInputElement).checked)} />
              {t('admin.prechat')}
            </label>
            {prechatOn && (
              <table class="table prechat-table">
                <thead>
                  <tr>
                    <th scope="col">{t('admin.prechatField')}</th>
                    <th scope="col">{t('admin.prechatAsk')}</th>
                    <th scope="col">{t('admin.prechatRequired')}</th>
                  </tr>
                </thead>
                <tbody>
                  {fieldNames.map((n) => {
                    const f = fields.find((x) => x.name === n);
                    return (
                      <tr key={n}>
                        <td>{t(('prechat.' + n) as 'prechat.name')}</td>
                        <td>
                          <input type="checkbox" aria-label={t('admin.prechatAskField', { field: t(('prechat.' + n) as 'prechat.name') })} checked={!!f}
                            onChange={(e) => toggleField(n, (e.target as HTMLInputElement).checked)} />
                        </td>
                        <td>
                          <input type="checkbox" aria-label={t('admin.prechatRequiredField', { field: t(('prechat.' + n) as 'prechat.name') })} disabled={!f}
                            checked={!!f?.required} onChange={(e) => setRequired(n, (e.target as HTMLInputElement).checked)} />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
            <h3 class="section-title">{t('admin.origins')}</h3>
            <label class="field">
              <span>{t('admin.originsHint')}</span>
              <textarea rows={3} value={origins} onInput={(e) => setOrigins((e.target as HTMLTextAreaElement).value)} spellcheck={false} />
            </label>
            {error && <p class="form-error" role="alert">{error}</p>}
          </div>
          <div class="card-foot">
            <button type="submit" class="btn btn-primary" disabled={busy} data-testid="site-save">{t('admin.save')}</button>
          </div>
        </section>
        <div class="side-stack">
          <section class="card">
            <div class="card-head">
              <h2>{t('admin.preview')}</h2>
              <span class="muted">{t(('lang.' + previewLang) as 'lang.fi')}</span>
            </div>
            <div class="card-pad">
              <div class="preview-box" aria-label={t('admin.preview')} role="img">
                <div class="preview-bubble" style={position === 'left' ? { left: '16px', bottom: '80px' } : { right: '16px', bottom: '80px' }}>
                  {greeting[previewLang] || greeting[language] || ''}
                </div>
                <div class="preview-launcher" style={{ background: /^#[0-9a-fA-F]{6}$/.test(color) ? color : '#0f766e', ...(position === 'left' ? { left: '16px' } : { right: '16px' }) }}>
                  <Icon name="chat" size={24} />
                </div>
              </div>
            </div>
          </section>
          <section class="card">
            <div class="card-head">
              <h2>{t('admin.embed')}</h2>
              <button type="button" class="btn btn-sm" onClick={() => void copy()}>
                <Icon name="copy" size={14} /> {t('admin.copy')}
              </button>
            </div>
            <div class="card-pad">
              <p class="muted small">{t('admin.embedHint')}</p>
              <pre class="snippet" data-testid="embed-snippet">{site.embed_snippet}</pre>
              <p class="muted small">
                {t('admin.widgetKey')}: <code>{site.widget_key}</code>
              </p>
            </div>
          </section>
        </div>
      </div>
    </form>
  );
}

// ---- users ----

const roles: Role[] = ['agent', 'supervisor', 'admin', 'owner'];
const rank: Record<Role, number> = { agent: 1, supervisor: 2, admin: 3, owner: 4 };

function Users() {
  const [invite, setInvite] = useState(false);
  const [edit, setEdit] = useState<User | null>(null);
  const mine = me.value!.user.role;
  return (
    <section class="card">
      <div class="card-head">
        <h2>{t('admin.users')}</h2>
        <button class="btn btn-primary btn-sm" onClick={() => setInvite(true)}>{t('admin.invite')}</button>
      </div>
      <table class="table" data-testid="users-table">
        <thead>
          <tr>
            <th scope="col">{t('admin.person')}</th>
            <th scope="col">{t('admin.role')}</th>
            <th scope="col">{t('admin.cap')}</th>
            <th scope="col">{t('admin.departments')}</th>
            <th scope="col">{t('board.status')}</th>
            <th scope="col"><span class="sr-only">{t('board.actions')}</span></th>
          </tr>
        </thead>
        <tbody>
          {users.value.map((u) => (
            <tr key={u.id} class={u.disabled ? 'row-disabled' : ''}>
              <td>
                <span class="person">
                  <Avatar id={u.id} name={u.name} photo={u.photo_url} small />
                  <span>
                    {u.name}
                    <small>{u.email}</small>
                  </span>
                </span>
              </td>
              <td>{t(('role.' + u.role) as 'role.agent')}</td>
              <td class="num">{u.max_chats}</td>
              <td>{(u.departments ?? []).map((d) => departments.value.find((x) => x.id === d)?.name).filter(Boolean).join(', ') || '—'}</td>
              <td>
                {u.disabled ? <span class="status-tag">{t('admin.disabled')}</span> : <span class={'presence presence-' + u.status}>{t(('status.' + u.status) as 'status.online')}</span>}
              </td>
              <td>
                <div class="row-actions">
                  <button class="btn btn-sm" disabled={rank[u.role] > rank[mine]} onClick={() => setEdit(u)}>{t('admin.edit')}</button>
                  {u.photo_url && rank[u.role] <= rank[mine] && (
                    <button class="btn btn-sm btn-ghost" data-testid="user-photo-remove" onClick={async () => {
                      // An admin can take down a photo that does not suit the team.
                      if ((await attempt(() => api('DELETE', '/users/' + encodeURIComponent(u.id) + '/photo'), t('admin.saved'))) !== null) await loadTeam();
                    }}>
                      {t('photo.remove')}
                    </button>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {invite && <UserDialog onClose={() => setInvite(false)} />}
      {edit && <UserDialog user={edit} onClose={() => setEdit(null)} />}
    </section>
  );
}

function UserDialog({ user, onClose }: { user?: User; onClose: () => void }) {
  const mine = me.value!.user.role;
  const [email, setEmail] = useState(user?.email ?? '');
  const [name, setName] = useState(user?.name ?? '');
  const [role, setRole] = useState<Role>(user?.role ?? 'agent');
  const [cap, setCap] = useState(user?.max_chats ?? 3);
  const [deps, setDeps] = useState<string[]>(user?.departments ?? []);
  const [disabled, setDisabled] = useState(user?.disabled ?? false);
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    try {
      if (user) {
        await api('PATCH', '/users/' + encodeURIComponent(user.id), { name, role, max_chats: cap, departments: deps, disabled });
        showToast(t('admin.saved'));
      } else {
        await api('POST', '/users/invite', { email, name, role, max_chats: cap, departments: deps });
        showToast(t('admin.invited', { email }));
      }
      await loadTeam();
      onClose();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <Dialog title={user ? t('admin.editUser', { name: user.name }) : t('admin.invite')} onClose={onClose}>
      <form onSubmit={submit}>
        {!user && (
          <label class="field">
            <span>{t('login.email')}</span>
            <input type="email" value={email} required onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
          </label>
        )}
        <label class="field">
          <span>{t('visitor.name')}</span>
          <input type="text" value={name} required maxLength={200} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <div class="form-grid">
          <label class="field">
            <span>{t('admin.role')}</span>
            <select value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>
              {roles.filter((r) => rank[r] <= rank[mine]).map((r) => <option key={r} value={r}>{t(('role.' + r) as 'role.agent')}</option>)}
            </select>
          </label>
          <label class="field">
            <span>{t('admin.cap')}</span>
            <input type="number" min={1} max={50} value={cap} required onInput={(e) => setCap(Number((e.target as HTMLInputElement).value))} />
          </label>
        </div>
        {departments.value.length > 0 && (
          <fieldset class="field">
            <legend>{t('admin.departments')}</legend>
            {departments.value.map((d) => (
              <label class="check" key={d.id}>
                <input type="checkbox" checked={deps.includes(d.id)}
                  onChange={(e) => setDeps((e.target as HTMLInputElement).checked ? [...deps, d.id] : deps.filter((x) => x !== d.id))} />
                {d.name}
              </label>
            ))}
          </fieldset>
        )}
        {user && user.id !== me.value?.user.id && (
          <label class="check">
            <input type="checkbox" checked={disabled} onChange={(e) => setDisabled((e.target as HTMLInputElement).checked)} />
            {t('admin.disableUser')}
          </label>
        )}
        {!user && <p class="muted small">{t('admin.inviteHint')}</p>}
        {error && <p class="form-error" role="alert">{error}</p>}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>{t('common.cancel')}</button>
          <button type="submit" class="btn btn-primary">{user ? t('admin.save') : t('admin.sendInvite')}</button>
        </div>
      </form>
    </Dialog>
  );
}

// ---- departments ----

function Departments() {
  const [name, setName] = useState('');
  const [edit, setEdit] = useState<Department | null>(null);
  const add = async (e: Event) => {
    e.preventDefault();
    if (await attempt(() => api('POST', '/departments', { name: name.trim() }), t('admin.saved'))) {
      setName('');
      await loadTeam();
    }
  };
  const remove = async (d: Department) => {
    if (!confirm(t('admin.confirmDelete', { name: d.name }))) return;
    if ((await attempt(() => api('DELETE', '/departments/' + encodeURIComponent(d.id)))) !== null) await loadTeam();
  };
  return (
    <section class="card">
      <div class="card-head">
        <h2>{t('admin.departments')}</h2>
      </div>
      <ul class="list-plain">
        {departments.value.length === 0 && <li class="muted">{t('admin.noDepartments')}</li>}
        {departments.value.map((d) => (
          <li key={d.id}>
            <span class="grow-text">
              <strong>{d.name}</strong>
              <small class="muted">{t('admin.members', { n: users.value.filter((u) => (u.departments ?? []).includes(d.id)).length })}</small>
            </span>
            <button class="btn btn-sm" onClick={() => setEdit(d)}>{t('admin.rename')}</button>
            <button class="btn btn-sm btn-danger-ghost" onClick={() => void remove(d)}>{t('admin.delete')}</button>
          </li>
        ))}
      </ul>
      <form class="inline-form" onSubmit={add}>
        <label class="field grow">
          <span>{t('admin.newDepartment')}</span>
          <input type="text" value={name} required maxLength={100} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <button class="btn btn-primary" type="submit" disabled={!name.trim()}>{t('tags.add')}</button>
      </form>
      {edit && <RenameDialog d={edit} onClose={() => setEdit(null)} />}
    </section>
  );
}

function RenameDialog({ d, onClose }: { d: Department; onClose: () => void }) {
  const [name, setName] = useState(d.name);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await attempt(() => api('PATCH', '/departments/' + encodeURIComponent(d.id), { name: name.trim() }), t('admin.saved'))) {
      await loadTeam();
      onClose();
    }
  };
  return (
    <Dialog title={t('admin.rename')} onClose={onClose}>
      <form onSubmit={submit}>
        <label class="field">
          <span>{t('visitor.name')}</span>
          <input type="text" value={name} required maxLength={100} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>{t('common.cancel')}</button>
          <button type="submit" class="btn btn-primary">{t('admin.save')}</button>
        </div>
      </form>
    </Dialog>
  );
}

// ---- canned responses ----

function CannedAdmin() {
  const [edit, setEdit] = useState<Canned | 'new' | null>(null);
  useEffect(() => {
    void loadCanned();
  }, []);
  const remove = async (c: Canned) => {
    if (!confirm(t('admin.confirmDelete', { name: '/' + c.shortcut }))) return;
    if ((await attempt(() => api('DELETE', '/canned/' + encodeURIComponent(c.id)))) !== null) await loadCanned();
  };
  return (
    <section class="card">
      <div class="card-head">
        <h2>{t('admin.canned')}</h2>
        <button class="btn btn-primary btn-sm" onClick={() => setEdit('new')}>{t('admin.newCanned')}</button>
      </div>
      <table class="table" data-testid="canned-table">
        <thead>
          <tr>
            <th scope="col">{t('admin.shortcut')}</th>
            <th scope="col">{t('admin.cannedTitle')}</th>
            <th scope="col">{t('admin.department')}</th>
            <th scope="col"><span class="sr-only">{t('board.actions')}</span></th>
          </tr>
        </thead>
        <tbody>
          {canned.value.length === 0 && (
            <tr>
              <td colSpan={4} class="empty-row">{t('canned.none')}</td>
            </tr>
          )}
          {canned.value.map((c) => (
            <tr key={c.id}>
              <td><code>/{c.shortcut}</code></td>
              <td>
                {c.title}
                <small class="muted ellipsis">{c.body}</small>
              </td>
              <td>{departments.value.find((d) => d.id === c.department_id)?.name ?? t('admin.everyone')}</td>
              <td>
                <div class="row-actions">
                  <button class="btn btn-sm" onClick={() => setEdit(c)}>{t('admin.edit')}</button>
                  <button class="btn btn-sm btn-danger-ghost" onClick={() => void remove(c)}>{t('admin.delete')}</button>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {edit && <CannedDialog c={edit === 'new' ? undefined : edit} onClose={() => setEdit(null)} />}
    </section>
  );
}

function CannedDialog({ c, onClose }: { c?: Canned; onClose: () => void }) {
  const [shortcut, setShortcut] = useState(c?.shortcut ?? '');
  const [title, setTitle] = useState(c?.title ?? '');
  const [body, setBody] = useState(c?.body ?? '');
  const [dep, setDep] = useState(c?.department_id ?? '');
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    try {
      const data = { shortcut, title, body, department_id: dep };
      if (c) await api('PATCH', '/canned/' + encodeURIComponent(c.id), data);
      else await api('POST', '/canned', data);
      await loadCanned();
      showToast(t('admin.saved'));
      onClose();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <Dialog title={c ? t('admin.editCanned') : t('admin.newCanned')} onClose={onClose} wide>
      <form onSubmit={submit}>
        <div class="form-grid">
          <label class="field">
            <span>{t('admin.shortcut')}</span>
            <input type="text" value={shortcut} required maxLength={32} pattern="[a-z0-9_\-]+" onInput={(e) => setShortcut((e.target as HTMLInputElement).value)} />
          </label>
          <label class="field">
            <span>{t('admin.department')}</span>
            <select value={dep} onChange={(e) => setDep((e.target as HTMLSelectElement).value)}>
              <option value="">{t('admin.everyone')}</option>
              {departments.value.map((d) => <option key={d.id} value={d.id}>{d.name}</option>)}
            </select>
          </label>
        </div>
        <label class="field">
          <span>{t('admin.cannedTitle')}</span>
          <input type="text" value={title} required maxLength={200} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
        </label>
        <label class="field">
          <span>{t('admin.cannedBody')}</span>
          <textarea rows={5} value={body} required maxLength={5000} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} />
          <small class="muted">{t('admin.placeholders')} <code>{'{{visitor.name}}'}</code> <code>{'{{visitor.email}}'}</code> <code>{'{{agent.name}}'}</code> <code>{'{{site.name}}'}</code></small>
        </label>
        {error && <p class="form-error" role="alert">{error}</p>}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>{t('common.cancel')}</button>
          <button type="submit" class="btn btn-primary">{t('admin.save')}</button>
        </div>
      </form>
    </Dialog>
  );
}
