// The stepauth front end: a login modal a site drops into its pages (this script, app.css and
// a button with `data-stepauth-login`). One Alpine.js component whose `card` says which step
// is showing; every call goes to the API this script came from; errors are shown next to the
// field or card they concern, by the API's stable error codes. The host page hears
// `stepauth:signed-in` (detail: the user), `stepauth:signed-out` and `stepauth:closed` on
// `document`, and may open the modal itself with `window.stepauth.open()`.
import focus from "@alpinejs/focus";
import Alpine from "alpinejs";
import markup from "./modal.html";

// The API is where this script was served from (the page may be another origin's).
const API = new URL(document.currentScript?.src ?? window.location.href).origin;

function announce(name, detail) {
  document.dispatchEvent(new CustomEvent(`stepauth:${name}`, { detail }));
}

const RULES = [
  { code: "min_length", text: "At least 12 characters", test: (p) => [...p].length >= 12 },
  { code: "max_length", text: "At most 128 characters", test: (p) => [...p].length <= 128 },
  { code: "uppercase", text: "An upper-case letter", test: (p) => /\p{Lu}/u.test(p) },
  { code: "lowercase", text: "A lower-case letter", test: (p) => /\p{Ll}/u.test(p) },
  { code: "digit", text: "A digit", test: (p) => /\p{Nd}/u.test(p) },
  { code: "symbol", text: "A symbol", test: (p) => /[^\p{L}\p{N}\s]/u.test(p) },
];

// What went wrong with a Google sign-in, by the API's error code.
const GOOGLE_ERRORS = {
  invalid_state: "That Google sign-in took too long or was already used. Try again.",
  invalid_id_token: "Google's answer could not be verified. Try again.",
  email_not_verified: "Your Google account's email address is not verified.",
  hosted_domain_not_allowed: "Accounts of this domain cannot sign in here.",
  account_locked: "Account locked. Contact admin.",
};

// The profile form's fields: [attribute, label, input type, autocomplete].
const PROFILE_FIELDS = [
  ["name", "Display name", "text", "name"],
  ["given_name", "First name", "text", "given-name"],
  ["family_name", "Last name", "text", "family-name"],
  ["preferred_username", "Username", "text", "username"],
  ["nickname", "Nickname", "text", "nickname"],
  ["phone_number", "Phone (+ and country code)", "tel", "tel"],
  ["gender", "Gender", "text", "sex"],
  ["birthdate", "Date of birth", "date", "bday"],
  ["picture", "Or a picture's URL (https)", "url", "photo"],
  ["locale", "Language (e.g. en, de-AT)", "text", "language"],
  ["zoneinfo", "Time zone (e.g. Europe/Vienna)", "text", "off"],
];

async function api(method, path, body, token) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "include",
    });
  } catch {
    return { ok: false, status: 0, data: { error: "network", message: "The server could not be reached. Check your connection." } };
  }
  const data = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, data, retryAfter: Number(response.headers.get("retry-after")) || 0 };
}

Alpine.data("stepauth", () => ({
  open: false,
  opener: null,
  card: "login",
  busy: false,
  error: "",
  fields: {},
  info: "",
  // Forms.
  name: "",
  email: "",
  password: "",
  confirm: "",
  currentPassword: "",
  code: "",
  recoveryCode: "",
  useRecovery: false,
  showPassword: false,
  // Flow state.
  signupToken: "",
  resetToken: "",
  mfaToken: "",
  codePurpose: "signup",
  cooldown: 0,
  timer: null,
  access: "",
  user: null,
  totp: null,
  recoveryCodes: [],
  activity: [],
  devices: [],
  rules: RULES,
  panel: "",
  // The email change: the new address, then the code mailed to it (and, for an account
  // without a password, the code mailed to the current address).
  newEmail: "",
  // The profile form: every attribute as text ("" is not set).
  profile: {},
  profileFields: PROFILE_FIELDS,
  emailStep: "ask",
  emailCode: "",
  currentCode: "",
  // Deleting the account: an account without a password is mailed a code first.
  deleteCodeSent: false,
  // Admin tools: accounts found by the start of their address, and the one open.
  adminPrefix: "",
  adminFound: [],
  adminUser: null,
  adminActivity: [],
  adminMails: [],
  // The mail templates' preview.
  mailKinds: [],
  mailLocales: [],
  mailKind: "",
  mailLocale: "en",
  mailPreview: null,
  // Whether sign-in with Google is on (the server says so at the top of this script).
  google: window.stepauthGoogle === true,

  init() {
    this.$watch("card", () => this.focusCard());
    window.addEventListener("stepauth:open", () => this.show());
    window.addEventListener("hashchange", () => this.backFromGoogle());
    this.backFromGoogle();
  },

  // Opens the modal; focus goes to the card's heading, and back to whatever had it (the
  // host page's button) on closing.
  // The first card's Next: the same for every address (nothing is asked of the API).
  next() {
    if (!this.email.trim()) return;
    this.password = "";
    this.go("signin");
  },

  // A URL of the API, for links the browser follows (Google's redirect flow).
  url(path) {
    return API + path;
  },

  show() {
    if (!this.open) this.opener = document.activeElement;
    this.open = true;
    this.focusCard();
  },

  close() {
    if (!this.open) return;
    this.open = false;
    const opener = this.opener;
    this.$nextTick(() => opener?.focus?.());
    announce("closed");
  },

  // The end of Google's redirect flow, in the URL's fragment: signed in (the session is in
  // the cookies), the authenticator step, or an error code.
  async backFromGoogle() {
    const params = new URLSearchParams(window.location.hash.slice(1));
    if (![...params.keys()].length) return;
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    this.show();
    // A code mail's link: the code's card, filled in. Nothing is sent until the person
    // presses Continue, so a mail scanner that opens the link uses nothing up.
    const purpose = params.get("stepauth");
    if (["signup", "login", "password_reset"].includes(purpose)) {
      this.email = params.get("email") || "";
      this.codePurpose = purpose;
      this.go("code");
      this.code = (params.get("code") || "").replace(/\D/g, "").slice(0, 6);
      return;
    }
    if (params.get("mfa_token")) {
      await this.signedIn({ mfa_required: true, mfa_token: params.get("mfa_token") });
    } else if (params.get("signed_in")) {
      await this.home();
      announce("signed-in", { user: this.user });
    } else if (params.get("google_error")) {
      this.error = GOOGLE_ERRORS[params.get("google_error")] || "Signing in with Google did not work. Try again.";
    }
  },

  // Moves focus to the new card's heading so screen readers announce it.
  focusCard() {
    this.$nextTick(() => {
      const heading = document.querySelector(`#stepauth [data-card="${this.card}"] h2`);
      if (heading) heading.focus();
    });
  },

  go(card) {
    this.error = "";
    this.fields = {};
    this.info = "";
    this.code = "";
    this.showPassword = false;
    this.card = card;
  },

  ruleMet(rule) {
    return rule.test(this.password);
  },

  get passwordValid() {
    return RULES.every((rule) => rule.test(this.password)) && this.password === this.confirm;
  },

  fieldError(name) {
    return (this.fields[name] || []).join(" ");
  },

  // Shows an API error: per-field messages by the fields, the rest on the card.
  fail(result) {
    const data = result.data || {};
    this.fields = data.fields || {};
    if (data.error === "too_many_requests") {
      this.error = `Too many attempts. Try again in ${result.retryAfter || "a few"} seconds.`;
      this.startCooldown(result.retryAfter);
    } else if (data.error === "validation_failed" && Object.keys(this.fields).length) {
      this.error = "Please correct the fields marked below.";
    } else {
      this.error = data.message || "Something went wrong. Try again.";
    }
  },

  startCooldown(seconds) {
    clearInterval(this.timer);
    this.cooldown = seconds || 0;
    if (!this.cooldown) return;
    this.timer = setInterval(() => {
      this.cooldown -= 1;
      if (this.cooldown <= 0) clearInterval(this.timer);
    }, 1000);
  },

  async run(action) {
    if (this.busy) return;
    this.busy = true;
    this.error = "";
    this.fields = {};
    try {
      await action();
    } finally {
      this.busy = false;
    }
  },

  // Sign-up: name and email → code → password → Google Authentication.
  signup() {
    return this.run(async () => {
      const result = await api("POST", "/auth/signup", { name: this.name, email: this.email });
      if (!result.ok) return this.fail(result);
      this.codePurpose = "signup";
      this.go("code");
      this.startCooldown(60);
    });
  },

  resend() {
    return this.run(async () => {
      const result = await api("POST", "/auth/code/resend", { email: this.email, purpose: this.codePurpose });
      if (!result.ok) return this.fail(result);
      this.info = "A new code is on its way.";
      this.startCooldown(60);
    });
  },

  verifyCode() {
    return this.run(async () => {
      const routes = { signup: "/auth/signup/verify", login: "/auth/login/code/verify", password_reset: "/auth/password/verify" };
      const result = await api("POST", routes[this.codePurpose], { email: this.email, code: this.code });
      if (!result.ok) return this.fail(result);
      if (this.codePurpose === "signup") {
        this.signupToken = result.data.signup_token;
        this.password = this.confirm = "";
        this.go("password");
      } else if (this.codePurpose === "password_reset") {
        this.resetToken = result.data.reset_token;
        this.password = this.confirm = "";
        this.go("reset");
      } else {
        await this.signedIn(result.data);
      }
    });
  },

  setPassword() {
    return this.run(async () => {
      const result = await api("POST", "/auth/signup/complete", {
        signup_token: this.signupToken,
        password: this.password,
        confirm_password: this.confirm,
      });
      if (!result.ok) return this.fail(result);
      if (result.data.message === "User created successfully") {
        this.access = result.data.access_token;
        this.user = result.data.user;
        // The account exists and has a session: the host page hears it now, before the
        // optional Google Authentication step.
        announce("signed-in", { user: this.user });
        // The password just set is the fresh proof that enrolling an authenticator needs.
        const password = this.password;
        this.password = this.confirm = "";
        await this.startTotp(password);
      }
    });
  },

  // Google Authentication: the current password, then a new secret and its QR code, then
  // the first code.
  async startTotp(password) {
    this.totp = null;
    this.go("totp");
    const result = await api("POST", "/auth/totp/setup", { password }, this.access);
    if (!result.ok) return this.fail(result);
    this.totp = result.data;
  },

  // From the signed-in card: the password first, then the same card as at sign-up.
  enrollTotp() {
    return this.run(async () => {
      const password = this.currentPassword;
      this.currentPassword = "";
      this.panel = "";
      await this.startTotp(password);
    });
  },

  enableTotp() {
    return this.run(async () => {
      const result = await api("POST", "/auth/totp/confirm", { code: this.code }, this.access);
      if (!result.ok) return this.fail(result);
      this.access = result.data.access_token;
      this.recoveryCodes = result.data.recovery_codes;
      this.go("recovery");
    });
  },

  copyRecovery() {
    navigator.clipboard?.writeText(this.recoveryCodes.join("\n"));
    this.info = "Copied.";
  },

  downloadRecovery() {
    const blob = new Blob([`stepauth recovery codes\n\n${this.recoveryCodes.join("\n")}\n`], { type: "text/plain" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "stepauth-recovery-codes.txt";
    link.click();
    URL.revokeObjectURL(link.href);
  },

  // Login: password, or emailed code; then the authenticator when it is on.
  login() {
    return this.run(async () => {
      const result = await api("POST", "/auth/login", { email: this.email, password: this.password });
      if (!result.ok) return this.fail(result);
      this.password = "";
      await this.signedIn(result.data);
    });
  },

  loginByCode() {
    return this.run(async () => {
      const result = await api("POST", "/auth/login/code", { email: this.email });
      if (!result.ok) return this.fail(result);
      this.codePurpose = "login";
      this.go("code");
      this.startCooldown(60);
    });
  },

  verifyMfa() {
    return this.run(async () => {
      const body = this.useRecovery
        ? { mfa_token: this.mfaToken, recovery_code: this.recoveryCode }
        : { mfa_token: this.mfaToken, code: this.code };
      const result = await api("POST", "/auth/mfa/verify", body);
      if (!result.ok) {
        if (result.data.error === "invalid_mfa_token") {
          this.go("login");
          this.error = "That login step expired. Log in again.";
          return;
        }
        return this.fail(result);
      }
      await this.signedIn(result.data);
    });
  },

  async signedIn(data) {
    if (data.mfa_required) {
      this.mfaToken = data.mfa_token;
      this.useRecovery = false;
      this.recoveryCode = "";
      this.go("mfa");
      return;
    }
    this.access = data.access_token;
    this.user = data.user;
    await this.home();
    announce("signed-in", { user: this.user });
  },

  async home() {
    this.go("home");
    this.panel = "";
    const [me, log, sessions] = await Promise.all([
      api("GET", "/users/me", undefined, this.access),
      api("GET", "/users/me/activity?limit=10", undefined, this.access),
      api("GET", "/users/me/sessions?limit=100", undefined, this.access),
    ]);
    if (me.ok) this.user = me.data;
    this.activity = log.ok ? log.data.items : [];
    this.devices = sessions.ok ? sessions.data.items : [];
  },

  // Devices: each session by its id; this one's "Sign out" is a logout.
  endSession(device) {
    if (device.current) return this.logout(false);
    return this.run(async () => {
      const result = await api("DELETE", `/users/me/sessions/${encodeURIComponent(device.id)}`, undefined, this.access);
      if (!result.ok && result.status !== 404) return this.fail(result);
      await this.home();
      this.info = `Signed out on ${device.label}.`;
    });
  },

  endOtherSessions() {
    return this.run(async () => {
      const result = await api("POST", "/users/me/sessions/end-others", undefined, this.access);
      if (!result.ok) return this.fail(result);
      await this.home();
      this.info = result.data.ended === 1 ? "Signed out on 1 other device." : `Signed out on ${result.data.ended} other devices.`;
    });
  },

  // How a session signed in, in words ("password + authenticator").
  how(method) {
    return method ? method.replaceAll("_", " ").replaceAll("+", " + ") : "";
  },

  // Forgotten password: email → code → new password.
  forgot() {
    return this.run(async () => {
      const result = await api("POST", "/auth/password/forgot", { email: this.email });
      if (!result.ok) return this.fail(result);
      this.codePurpose = "password_reset";
      this.go("code");
      this.startCooldown(60);
    });
  },

  resetPassword() {
    return this.run(async () => {
      const result = await api("POST", "/auth/password/reset", {
        reset_token: this.resetToken,
        password: this.password,
        confirm_password: this.confirm,
      });
      if (!result.ok) return this.fail(result);
      this.password = this.confirm = "";
      this.go("login");
      this.info = "Your password has been reset. Log in with the new one.";
    });
  },

  // Signed-in actions.
  changePassword() {
    return this.run(async () => {
      const result = await api(
        "POST",
        "/auth/password/change",
        { current_password: this.currentPassword, password: this.password, confirm_password: this.confirm },
        this.access,
      );
      if (!result.ok) return this.fail(result);
      this.access = result.data.access_token;
      this.currentPassword = this.password = this.confirm = "";
      await this.home();
      this.info = "Password changed. Other sessions were logged out.";
    });
  },

  openProfile() {
    this.panel = "profile";
    this.fields = {};
    this.profile = Object.fromEntries(PROFILE_FIELDS.map(([name]) => [name, this.profileValue(name)]));
  },

  // What the form shows of an attribute: an uploaded picture's short-lived URL is not one the
  // person typed, so its field stays empty.
  profileValue(name) {
    if (!this.user || (name === "picture" && this.user.picture_uploaded)) return "";
    return this.user[name] || "";
  },

  // Sends what changed: a field emptied is removed (null), an unchanged one is left out.
  saveProfile() {
    return this.run(async () => {
      const change = {};
      for (const [name] of PROFILE_FIELDS) {
        const value = this.profile[name].trim() === "" ? null : this.profile[name];
        if (value !== (this.profileValue(name) || null)) change[name] = value;
      }
      if (change.name === null) delete change.name;
      const result = await api("PATCH", "/users/me", change, this.access);
      if (!result.ok) return this.fail(result);
      this.user = result.data;
      this.panel = "";
      this.info = "Profile saved.";
    });
  },

  // A picture goes straight to S3 through the presigned POST the API signs (S3 refuses a
  // file of another type or over the size the form allows), then its key goes back to the API.
  uploadPicture(event) {
    const file = event.target.files && event.target.files[0];
    event.target.value = "";
    if (!file) return;
    return this.run(async () => {
      const form = await api("POST", "/users/me/picture", { content_type: file.type || "application/octet-stream" }, this.access);
      if (!form.ok && form.data.fields && form.data.fields.content_type) {
        this.error = "Use a PNG, JPEG or WebP file.";
        return;
      }
      if (!form.ok) return this.fail(form);
      const body = new FormData();
      for (const [name, value] of Object.entries(form.data.fields)) body.append(name, value);
      body.append("file", file);
      const upload = await fetch(form.data.url, { method: "POST", body }).catch(() => null);
      if (!upload || !upload.ok) {
        this.error = file.size > form.data.max_bytes
          ? "The picture is larger than 1 MiB."
          : "The picture could not be uploaded. Use a PNG, JPEG or WebP file of at most 1 MiB.";
        return;
      }
      const set = await api("PUT", "/users/me/picture", { key: form.data.key }, this.access);
      if (!set.ok) return this.fail(set);
      this.user = set.data;
      this.info = "Picture saved.";
    });
  },

  openEmailChange() {
    this.panel = "email";
    this.emailStep = "ask";
    this.newEmail = this.currentPassword = this.code = this.emailCode = this.currentCode = "";
  },

  askEmailChange() {
    return this.run(async () => {
      const body = { new_email: this.newEmail };
      if (this.user.has_password) body.password = this.currentPassword;
      if (this.user.mfa_enabled) body.code = this.code;
      const result = await api("POST", "/users/me/email", body, this.access);
      if (!result.ok) return this.fail(result);
      this.currentPassword = this.code = "";
      this.emailStep = "verify";
      this.info = this.user.has_password
        ? `We sent a code to ${this.newEmail}.`
        : `We sent a code to ${this.newEmail}, and one to ${this.user.email}.`;
    });
  },

  verifyEmailChange() {
    return this.run(async () => {
      const body = { new_email: this.newEmail, code: this.emailCode };
      if (!this.user.has_password) body.current_code = this.currentCode;
      const result = await api("POST", "/users/me/email/verify", body, this.access);
      if (!result.ok) return this.fail(result);
      this.access = result.data.access_token;
      this.email = result.data.user.email;
      await this.home();
      this.info = "Your email address is changed. Other sessions were logged out.";
    });
  },

  // Admin tools (only admins see them; the API checks the role on every call).
  adminSearch() {
    return this.run(async () => {
      const prefix = encodeURIComponent(this.adminPrefix.trim());
      const result = await api("GET", `/admin/users?email_prefix=${prefix}&limit=20`, undefined, this.access);
      if (!result.ok) return this.fail(result);
      this.adminFound = result.data.items;
      this.adminUser = null;
      if (!this.adminFound.length) this.info = "No account's address starts so.";
    });
  },

  async adminLoad(id) {
    const path = `/admin/users/${encodeURIComponent(id)}`;
    const [user, log, mails] = await Promise.all([
      api("GET", path, undefined, this.access),
      api("GET", `${path}/activity?limit=10`, undefined, this.access),
      api("GET", `${path}/mails?limit=10`, undefined, this.access),
    ]);
    if (!user.ok) return this.fail(user);
    this.adminUser = user.data;
    this.adminActivity = log.ok ? log.data.items : [];
    this.adminMails = mails.ok ? mails.data.items : [];
  },

  adminOpen(id) {
    return this.run(() => this.adminLoad(id));
  },

  // One of the admin actions on the open account: `action` is the path after its id.
  adminAct(method, action, done) {
    return this.run(async () => {
      const id = this.adminUser.id;
      const result = await api(method, `/admin/users/${encodeURIComponent(id)}${action}`, undefined, this.access);
      if (!result.ok) return this.fail(result);
      if (method === "DELETE") {
        this.adminUser = null;
        this.adminFound = this.adminFound.filter((u) => u.id !== id);
      } else {
        await this.adminLoad(id);
      }
      this.info = done;
    });
  },

  // The kinds and languages, asked once when the admin first opens the list.
  async loadMailKinds() {
    if (this.mailKinds.length) return;
    const result = await api("GET", "/admin/mail-templates", undefined, this.access);
    if (!result.ok) return this.fail(result);
    this.mailKinds = result.data.kinds;
    this.mailLocales = result.data.locales;
    this.mailKind = this.mailKind || this.mailKinds[0];
  },

  previewMail() {
    return this.run(async () => {
      const kind = encodeURIComponent(this.mailKind);
      const locale = encodeURIComponent(this.mailLocale);
      const result = await api("GET", `/admin/mail-templates/${kind}?locale=${locale}`, undefined, this.access);
      if (!result.ok) return this.fail(result);
      this.mailPreview = result.data;
    });
  },

  adminDelete() {
    if (!window.confirm(`Delete ${this.adminUser.email} for good?`)) return;
    return this.adminAct("DELETE", "", "The account is deleted.");
  },

  openDelete() {
    this.panel = "delete";
    this.deleteCodeSent = false;
    this.currentPassword = this.code = this.emailCode = "";
  },

  deleteAccount() {
    return this.run(async () => {
      const body = {};
      if (this.user.has_password) body.password = this.currentPassword;
      else if (this.deleteCodeSent) body.email_code = this.emailCode;
      if (this.user.mfa_enabled && (this.user.has_password || this.deleteCodeSent)) body.code = this.code;
      const result = await api("DELETE", "/users/me", body, this.access);
      if (!result.ok) return this.fail(result);
      if (result.status === 202) {
        this.deleteCodeSent = true;
        this.info = `We sent a code to ${this.user.email}.`;
        return;
      }
      this.access = "";
      this.user = null;
      this.currentPassword = this.code = this.emailCode = "";
      this.panel = "";
      this.go("login");
      this.info = "Your account is deleted.";
      announce("signed-out");
    });
  },

  disableTotp() {
    return this.run(async () => {
      const body = this.useRecovery
        ? { password: this.currentPassword, recovery_code: this.recoveryCode }
        : { password: this.currentPassword, code: this.code };
      const result = await api("POST", "/auth/totp/disable", body, this.access);
      if (!result.ok) return this.fail(result);
      this.access = result.data.access_token;
      this.currentPassword = this.code = this.recoveryCode = "";
      await this.home();
      this.info = "Google Authenticator is off. Other sessions were logged out.";
    });
  },

  renewRecoveryCodes() {
    return this.run(async () => {
      const body = { password: this.currentPassword, code: this.code };
      const result = await api("POST", "/auth/totp/recovery-codes", body, this.access);
      if (!result.ok) return this.fail(result);
      this.currentPassword = this.code = "";
      this.recoveryCodes = result.data.recovery_codes;
      this.go("recovery");
    });
  },

  // Unlinking needs a password on the account; the API says so (409 password_required).
  unlink(id) {
    return this.run(async () => {
      const result = await api("POST", "/users/me/identities/unlink", { id }, this.access);
      if (!result.ok) return this.fail(result);
      await this.home();
      this.info = "Sign-in with Google was unlinked. Log in with your password from now on.";
    });
  },

  logout(everywhere) {
    return this.run(async () => {
      if (everywhere) await api("POST", "/auth/logout/all", undefined, this.access);
      await api("POST", "/auth/logout", undefined, this.access);
      this.access = "";
      this.user = null;
      this.password = "";
      this.go("login");
      this.info = everywhere ? "Logged out of every session." : "Logged out.";
      announce("signed-out");
    });
  },

  when(at) {
    return new Date(at).toLocaleString();
  },
}));

// Puts the modal into the page and starts it; any `data-stepauth-login` element opens it.
function mount() {
  document.body.insertAdjacentHTML("beforeend", markup);
  document.addEventListener("click", (event) => {
    if (!event.target.closest?.("[data-stepauth-login]")) return;
    event.preventDefault();
    window.dispatchEvent(new CustomEvent("stepauth:open"));
  });
  window.stepauth = { open: () => window.dispatchEvent(new CustomEvent("stepauth:open")) };
  Alpine.plugin(focus);
  Alpine.start();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
else mount();
