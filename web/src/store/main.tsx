import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '../shared/styles.css';
import './tablet.css';
import { App } from './App';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

// Installable and offline (issue 22): the service worker precaches this page and its
// bundles; the tablet's data is in IndexedDB. Not in `vite` dev, where there is none.
if ('serviceWorker' in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register('/sw.js', { scope: '/store/' }).catch(() => undefined);
}
