// The storefront API: three GETs answering JSON. Plain GETs with no custom headers are "simple"
// cross-origin requests, so the browser needs no preflight (the API has no OPTIONS route).
import { text } from './messages.js';

export function storefrontUrl(api, route, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
  }
  return `${(api || '').replace(/\/+$/, '')}/storefront/${route}?${query}`;
}

export async function getJson(url, signal) {
  let response;
  try {
    response = await fetch(url, { signal, credentials: 'omit', headers: { Accept: 'application/json' } });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    return { status: 'error', message: text.unreachable };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.ok && body) return { status: 'ok', data: body };
  // 400 reasons name a bad parameter; 503 reasons are written for shoppers.
  return { status: 'error', message: (body && body.reason) || text.unreachable };
}
