// Vite build of the flowd editor: one command (`npm run build`) writes web/dist,
// which the C server serves at "/". The dev server proxies the API to a local flowd.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const api = process.env.FLOWD_URL || 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1200 },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': api,
      '/healthz': api,
      '/ws': { target: api.replace(/^http/, 'ws'), ws: true },
    },
  },
  preview: { host: '127.0.0.1' },
});
