// Tiski's agent console: a single page served at /console.
import { render } from 'preact';
import { App } from './components/App';
import { boot, readHash } from './store';

window.addEventListener('hashchange', readHash);
render(<App />, document.getElementById('app')!);
void boot();
