/* SPDX-License-Identifier: MIT */
/* signin.h: the report in a browser without a token in any URL.
 *
 *   GET /report (no token, no valid session)  401 with a sign-in form
 *   POST /report/signin  token=<token> (form)  303 to /report, and
 *        Set-Cookie: pf_session=<random id>; HttpOnly; Secure;
 *        SameSite=Strict (the session lives ACCESS_SESSION_S, server side)
 *   POST /report/signout                      ends the session, 303 to /report
 *
 * The token is sent once, in a POST body, and never written to a log; the
 * cookie holds only a random id whose hash the database keeps (sql/030).
 * Sign-in and sign-out must come from the collector's own page when the
 * browser says where it comes from (Origin or Referer): a login-CSRF page
 * elsewhere cannot sign a victim into its own session. */
#ifndef PF_SIGNIN_H
#define PF_SIGNIN_H

#include "buf.h"
#include "error.h"

struct exchange;

/* Answers 401 with the sign-in page; why is the refusal's code
 * (access_decide) and picks the notice shown. A stale session cookie is
 * cleared. Loop thread. */
void signin_form(struct exchange *x, const char *why);

/* Route handlers of POST /report/signin and POST /report/signout. */
void signin_handle(struct exchange *x);
void signout_handle(struct exchange *x);

/* For an HTML page answered to a browser session: inserts a sign-out
 * button before </body>. */
enum pf_rc signin_add_signout(struct pf_buf *page);

#endif
