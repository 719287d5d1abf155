// One IIFE bundle (plus one stylesheet) that any page can load with a <script> tag: it mounts the
// components on elements carrying data-omsbridge. React is bundled in, so the host page needs nothing.
import { defineConfig } from 'vite';

export default defineConfig({
  // Library mode leaves process.env alone; React reads NODE_ENV to drop its development build.
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  esbuild: { jsx: 'automatic' },
  build: {
    target: 'es2020',
    outDir: 'dist',
    emptyOutDir: true,
    reportCompressedSize: true,
    lib: {
      entry: 'src/main.jsx',
      name: 'OmsBridgeStorefront',
      formats: ['iife'],
      fileName: () => 'omsbridge-storefront.js',
      cssFileName: 'omsbridge-storefront',
    },
  },
});
