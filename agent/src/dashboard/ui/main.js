// The device dashboard's UI (Preact + htm, no build-time JSX): a shell with navigation, one component per
// page, client-side routing with the History API. Served by the agent (see ../server.ts).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './style.css';
import { api, Badge, html } from './lib.js';
import { connectLive, store, useLive } from './live.js';
import { Earnings } from './pages/earnings.js';
import { Hardware } from './pages/hardware.js';
import { Jobs } from './pages/jobs.js';
import { Login } from './pages/login.js';
import { Overview } from './pages/overview.js';
import { Settings } from './pages/settings.js';
import { System } from './pages/system.js';

const PAGES = [
  ['/', 'Overview', Overview],
  ['/hardware', 'Hardware', Hardware],
  ['/jobs', 'Jobs', Jobs],
  ['/earnings', 'Earnings', Earnings],
  ['/settings', 'Settings', Settings],
  ['/system', 'System', System],
];

function navigate(path) {
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

function Shell() {
  const [path, setPath] = useState(location.pathname);
  const live = useLive();
  useEffect(() => {
    const on = () => setPath(location.pathname);
    addEventListener('popstate', on);
    connectLive();
    return () => removeEventListener('popstate', on);
  }, []);
  const page = PAGES.find(([p]) => p === path) ?? PAGES[0];
  const Page = page[2];
  const online = live.link?.status === 'online';
  const logout = async () => {
    store.leaving = true;
    await api('/api/logout', { method: 'POST', body: {} }).catch(() => {});
    location.assign('/login');
  };
  useEffect(() => void (document.title = `${page[1]} · sosna device`), [page]);
  return html`<header>
      <strong class="brand">sosna</strong>
      <nav>${PAGES.map(([p, label]) => html`<a href=${p} class=${p === page[0] ? 'active' : ''} onClick=${(e) => (e.preventDefault(), navigate(p))}>${label}</a>`)}</nav>
      <span class="spacer"></span>
      ${live.link ? html`<${Badge} level=${online ? 'ok' : 'error'} testid="header-link">hub ${online ? 'connected' : 'offline'}<//>` : null}
      <button class="link" onClick=${logout} data-testid="logout">Log out</button>
    </header>
    <main><${Page} key=${page[0]} /></main>`;
}

render(location.pathname === '/login' ? html`<${Login} />` : html`<${Shell} />`, document.getElementById('app'));
