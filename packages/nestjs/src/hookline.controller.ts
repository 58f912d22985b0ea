import type { ServerResponse } from 'node:http';
import { All, Controller, Inject, Req, Res, type Type } from '@nestjs/common';
import { fail, isHooklineError } from '@hookline/errors';
import type { HookResponse, Hookline } from 'hookline';
import { HOOKLINE, HOOKLINE_RESOLVED_OPTIONS } from './hookline.constants.js';
import type { ResolvedHooklineOptions } from './hookline-options.interface.js';
import { readRawBody, type PlatformRequest } from './raw-body.js';

/** Builds the controller serving hookline's routes under `path` (JWKS, callbacks, inbound and, with `admin`, the admin API). */
export function createHooklineController(path: string): Type<unknown> {
  @Controller(path)
  class HooklineController {
    constructor(
      @Inject(HOOKLINE) private readonly hooks: Hookline,
      @Inject(HOOKLINE_RESOLVED_OPTIONS) private readonly options: ResolvedHooklineOptions,
    ) {}

    @All('*path')
    async serve(@Req() req: PlatformRequest, @Res() res: ServerResponse): Promise<void> {
      try {
        const url = hooklinePath(req);
        const request = { method: req.method ?? 'GET', url, headers: req.headers, body: await readRawBody(req, this.options.maxBodyBytes) };
        const admin = this.options.admin;
        if (!admin || !/^\/admin(\/|\?|$)/.test(url)) return send(res, await this.hooks.handle(request));
        const tenant = await admin.authorize(req);
        if (tenant === undefined || tenant === false) throw fail('unauthorized', 'The admin API needs an authorised caller.');
        send(res, await this.hooks.handleAdmin(request, tenant === true ? {} : { tenant }));
      } catch (error) {
        if (!isHooklineError(error)) throw error;
        send(res, { status: error.status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(error.toJSON()) });
      }
    }
  }
  return HooklineController;
}

/** The path below the mount point, still percent-encoded, plus the query: `*path` holds as many segments as it matched. */
function hooklinePath(req: PlatformRequest): string {
  const target = req.originalUrl ?? req.url ?? '/';
  const queryAt = target.indexOf('?');
  const pathname = queryAt === -1 ? target : target.slice(0, queryAt);
  const matched = req.params?.['path'];
  const count = Array.isArray(matched) ? matched.length : 0;
  const segments = count === 0 ? [] : pathname.split('/').slice(-count);
  return `/${segments.join('/')}${queryAt === -1 ? '' : target.slice(queryAt)}`;
}

function send(res: ServerResponse, answer: HookResponse): void {
  res.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  res.end(answer.body);
}
