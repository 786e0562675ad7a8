//! A local stand-in for the Telegram Bot API, for running the real `aftercare serve` binary in tests.
//!
//! [`BotApi::start`] serves HTTP on `127.0.0.1` at a free port, on its own tokio runtime in a
//! background thread, so the tests that use it are plain synchronous `#[test]`s. Point the bot at
//! it with `TELOXIDE_API_URL` set to [`BotApi::url`]; teloxide then POSTs JSON to
//! `{url}/bot{TOKEN}/{method}`. Any token is accepted.
//!
//! The stand-in answers with the real Bot API's JSON shapes, close enough that teloxide
//! deserializes every one of them (the self-tests at the bottom check that with teloxide's own
//! types):
//!
//! - `getMe`, `getWebhookInfo`, `deleteWebhook`;
//! - `getUpdates`, honouring `offset` (updates below it are confirmed and dropped for good; a
//!   negative one keeps only that many of the newest), `limit`, and `timeout` (a long poll, capped
//!   at [`MAX_POLL_SECONDS`]);
//! - `sendMessage`, `editMessageText` and `editMessageReplyMarkup`, which keep each bot message's
//!   current text and inline keyboard;
//! - `answerCallbackQuery` and `setMyCommands`;
//! - any other method is counted and answered `{"ok":true,"result":true}`.
//!
//! Tests push updates as if a person wrote ([`BotApi::push_text`] and friends), look at what the bot
//! did ([`BotApi::sent`], [`BotApi::calls`], ...), and make the next calls of a method fail
//! ([`BotApi::fail_next`]). Requests the real API would refuse (a missing `chat_id`, an empty or
//! over-long text, editing a message that does not exist or to the same content, answering a
//! callback query that was never sent) get a 400 with the Telegram error body, never a panic.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, VecDeque};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// The `update_id` of the first pushed update; each later one is one more.
pub const FIRST_UPDATE_ID: i64 = 1000;

/// The longest a `getUpdates` long poll waits, whatever `timeout` the bot asks for.
pub const MAX_POLL_SECONDS: u64 = 10;

/// The bot's own user id, as `getMe` and the `from` of the bot's messages give it.
pub const BOT_USER_ID: i64 = 7_000_000_001;

/// The bot's username, as `getMe` gives it.
pub const BOT_USERNAME: &str = "aftercare_test_bot";

/// The first name of every pushed private-chat user.
pub const USER_FIRST_NAME: &str = "Pat";

/// The longest text `sendMessage` and `editMessageText` accept, in characters, as on Telegram.
pub const MAX_TEXT_CHARS: usize = 4096;

/// A message the bot sent, as it stands in [`BotApi::sent`] (as first sent) or [`BotApi::message`]
/// (after any edits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The chat it went to.
    pub chat_id: i64,
    /// Its text, exactly as the bot sent it (no entity parsing).
    pub text: String,
    /// Its inline keyboard, row by row, as `(text, callback_data)` pairs; a button without
    /// `callback_data` has its `url` there instead, or an empty string.
    pub buttons: Vec<(String, String)>,
    /// The id the stand-in gave it.
    pub message_id: i64,
}

/// How an injected failure answers, with the status and body the real Bot API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429, `Too Many Requests: retry after N` with `parameters.retry_after` = N.
    TooManyRequests {
        /// Seconds the bot is told to wait.
        retry_after: u32,
    },
    /// HTTP 500, `Internal Server Error`. Note that teloxide sleeps 10 s on any 5xx before it
    /// reports the error.
    ServerError,
}

/// The running stand-in. Dropping it stops the server and frees the port.
pub struct BotApi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl BotApi {
    /// Starts the stand-in on `127.0.0.1` at a free port.
    ///
    /// # Panics
    /// If no port can be bound or no runtime built: the test cannot go on without them.
    pub fn start() -> BotApi {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port for the Bot API stand-in");
        listener.set_nonblocking(true).expect("make the stand-in's listener non-blocking");
        let addr = listener.local_addr().expect("the stand-in's local address");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime for the Bot API stand-in");
        let (signal, _) = watch::channel(Signal::default());
        let shared = Arc::new(Shared { state: Mutex::new(Store::default()), signal });
        let thread = std::thread::Builder::new()
            .name(format!("bot-api-{}", addr.port()))
            .spawn({
                let shared = Arc::clone(&shared);
                move || serve(runtime, listener, shared)
            })
            .expect("spawn the Bot API stand-in's thread");
        BotApi { shared, addr, thread: Some(thread) }
    }

    /// The base URL to give the bot as `TELOXIDE_API_URL`, like `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Pushes a text message from user `chat_id` (first name "Pat") in their private chat with the
    /// bot, and returns the message's id. A text starting with `/` carries a `bot_command` entity.
    pub fn push_text(&self, chat_id: i64, text: &str) -> i64 {
        self.push_message(chat(chat_id), chat_id, |message| add_text(message, text))
    }

    /// Pushes an `edited_message` update: user `chat_id` changed their message `message_id` to
    /// `text`.
    pub fn push_edit(&self, chat_id: i64, message_id: i64, text: &str) {
        self.push(|_| {
            let mut message = base_message(message_id, user(chat_id), chat(chat_id));
            add_text(&mut message, text);
            message.insert("edit_date".into(), json!(unix_now()));
            ("edited_message", Value::Object(message))
        });
    }

    /// Pushes a `callback_query`: user `chat_id` pressed a button with `data` on the bot's message
    /// `message_id` in their private chat. Returns the query's id, for
    /// [`BotApi::answered_callbacks`].
    pub fn push_callback(&self, chat_id: i64, message_id: i64, data: &str) -> String {
        let mut id = String::new();
        self.push(|store| {
            store.next_callback += 1;
            id = format!("{}{}", chat_id.unsigned_abs(), store.next_callback);
            store.issued_callbacks.push(id.clone());
            let message = match store.messages.get(&(chat_id, message_id)) {
                Some(stored) => stored.to_json(),
                None => {
                    let mut message = base_message(message_id, bot_user(), chat(chat_id));
                    add_text(&mut message, "");
                    Value::Object(message)
                }
            };
            let query = json!({
                "id": id,
                "from": user(chat_id),
                "message": message,
                "chat_instance": format!("instance-{chat_id}"),
                "data": data,
            });
            ("callback_query", query)
        });
        id
    }

    /// Pushes a sticker (a static regular one, emoji 👍) from user `chat_id`; returns its message id.
    pub fn push_sticker(&self, chat_id: i64) -> i64 {
        self.push_message(chat(chat_id), chat_id, |message| {
            let id = message.get("message_id").and_then(Value::as_i64).unwrap_or_default();
            let sticker = json!({
                "file_id": format!("sticker-{id}"),
                "file_unique_id": format!("unique-sticker-{id}"),
                "file_size": 18_000,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": false,
                "is_video": false,
                "emoji": "👍",
                "set_name": "AftercareTestStickers",
            });
            message.insert("sticker".into(), sticker);
        })
    }

    /// Pushes a photo (two sizes) with an optional caption from user `chat_id`; returns its
    /// message id.
    pub fn push_photo(&self, chat_id: i64, caption: Option<&str>) -> i64 {
        self.push_message(chat(chat_id), chat_id, |message| {
            let id = message.get("message_id").and_then(Value::as_i64).unwrap_or_default();
            let size = |suffix: &str, width: u32, height: u32, bytes: u32| {
                json!({
                    "file_id": format!("photo-{id}-{suffix}"),
                    "file_unique_id": format!("unique-photo-{id}-{suffix}"),
                    "file_size": bytes,
                    "width": width,
                    "height": height,
                })
            };
            message.insert("photo".into(), json!([size("s", 90, 67, 1_200), size("m", 1280, 960, 96_000)]));
            if let Some(caption) = caption {
                message.insert("caption".into(), json!(caption));
            }
        })
    }

    /// Pushes a text message from user `from_user_id` in the group `group_chat_id` (chat type
    /// "group", whatever the sign; real group ids are negative, and the bot's messages to a
    /// negative chat id come back in a group); returns its message id.
    pub fn push_group_text(&self, group_chat_id: i64, from_user_id: i64, text: &str) -> i64 {
        self.push_message(group_chat(group_chat_id), from_user_id, |message| add_text(message, text))
    }

    /// Every message the bot sent with an accepted `sendMessage`, in order, as first sent.
    pub fn sent(&self) -> Vec<Sent> {
        let store = self.shared.lock();
        store.sent.iter().filter_map(|key| store.messages.get(key)).map(|stored| stored.first.clone()).collect()
    }

    /// The messages sent with an accepted `sendMessage` from the `from`-th on (0 is the first), as
    /// first sent, each with when the stand-in accepted it: a cheap way to follow a long run.
    pub fn sent_since(&self, from: usize) -> Vec<(Sent, Instant)> {
        let store = self.shared.lock();
        let keys = store.sent.get(from..).unwrap_or_default();
        keys.iter()
            .filter_map(|key| store.messages.get(key))
            .map(|stored| (stored.first.clone(), stored.arrived))
            .collect()
    }

    /// The bot's message `message_id` in `chat_id` as it stands now, after any edits.
    pub fn message(&self, chat_id: i64, message_id: i64) -> Option<Sent> {
        self.shared.lock().messages.get(&(chat_id, message_id)).map(StoredMessage::current)
    }

    /// How many times the bot called `method` (case-insensitive), failed and refused calls
    /// included.
    pub fn calls(&self, method: &str) -> usize {
        self.shared.lock().calls.get(&method.to_ascii_lowercase()).map_or(0, Vec::len)
    }

    /// The JSON bodies of every call of `method` (case-insensitive), in order; `null` for a body
    /// that was not a JSON object.
    pub fn requests(&self, method: &str) -> Vec<Value> {
        self.shared.lock().calls.get(&method.to_ascii_lowercase()).cloned().unwrap_or_default()
    }

    /// The `callback_query_id` of every accepted `answerCallbackQuery`, in order.
    pub fn answered_callbacks(&self) -> Vec<String> {
        self.shared.lock().answered.clone()
    }

    /// The command names (as sent, e.g. `start`) of the latest accepted `setMyCommands`.
    pub fn commands(&self) -> Vec<String> {
        self.shared.lock().commands.clone()
    }

    /// The highest `offset` a `getUpdates` has confirmed: every update below it is gone. 0 until
    /// the bot confirms anything.
    pub fn confirmed_offset(&self) -> i64 {
        self.shared.lock().confirmed_offset
    }

    /// How many pushed updates the bot has not confirmed yet.
    pub fn pending(&self) -> usize {
        self.shared.lock().pending.len()
    }

    /// Makes the next `n` calls of `method` (case-insensitive) fail with `fault`, after any failures
    /// already queued. Failed calls count in [`BotApi::calls`] but send nothing.
    pub fn fail_next(&self, method: &str, n: usize, fault: Fault) {
        let mut store = self.shared.lock();
        let queue = store.faults.entry(method.to_ascii_lowercase()).or_default();
        queue.extend(std::iter::repeat_n(fault, n));
    }

    /// Drops every failure still queued by [`BotApi::fail_next`].
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Waits up to `timeout` for a sent message (among all sent so far) that matches, and returns
    /// the earliest that does.
    pub fn wait_for_sent(&self, matches: impl Fn(&Sent) -> bool, timeout: Duration) -> Option<Sent> {
        let mut found = None;
        self.wait_until(
            |api| {
                found = api.sent().into_iter().find(|sent| matches(sent));
                found.is_some()
            },
            timeout,
        );
        found
    }

    /// Checks `condition` every 10 ms until it holds (true) or `timeout` passes (false).
    pub fn wait_until(&self, mut condition: impl FnMut(&BotApi) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if condition(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Pushes a new message update in `chat` from user `from_id`, filled in by `fill`, and returns
    /// the message's id.
    fn push_message(&self, chat: Value, from_id: i64, fill: impl FnOnce(&mut Map<String, Value>)) -> i64 {
        let mut message_id = 0;
        self.push(|store| {
            message_id = store.next_message_id();
            let mut message = base_message(message_id, user(from_id), chat);
            fill(&mut message);
            ("message", Value::Object(message))
        });
        message_id
    }

    /// Queues the update that `make` builds (its kind and body) under the next update id, and wakes
    /// any waiting long poll.
    fn push(&self, make: impl FnOnce(&mut Store) -> (&'static str, Value)) {
        {
            let mut store = self.shared.lock();
            let (kind, body) = make(&mut store);
            let update_id = store.next_update_id;
            store.next_update_id += 1;
            let mut update = Map::new();
            update.insert("update_id".into(), json!(update_id));
            update.insert(kind.into(), body);
            store.pending.push_back((update_id, Value::Object(update)));
        }
        self.shared.signal.send_modify(|signal| signal.pushed += 1);
    }
}

impl Drop for BotApi {
    fn drop(&mut self) {
        self.shared.signal.send_modify(|signal| signal.stopping = true);
        if let Some(thread) = self.thread.take() {
            // A panic on the server thread was already printed; don't panic again while dropping.
            let _ = thread.join();
        }
    }
}

/// What the server thread and the test thread share.
struct Shared {
    state: Mutex<Store>,
    /// Wakes long polls when an update is pushed, and everything when the stand-in stops.
    signal: watch::Sender<Signal>,
}

impl Shared {
    /// The store, even if a panicking test poisoned the lock.
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Signal {
    pushed: u64,
    stopping: bool,
}

/// Everything the stand-in remembers.
struct Store {
    next_update_id: i64,
    /// Updates not yet confirmed by an `offset`, oldest first.
    pending: VecDeque<(i64, Value)>,
    confirmed_offset: i64,
    /// Message ids are shared by the people's and the bot's messages, so they never collide.
    last_message_id: i64,
    next_callback: u64,
    issued_callbacks: Vec<String>,
    /// The bot's messages by (chat, message id).
    messages: HashMap<(i64, i64), StoredMessage>,
    /// The keys of `messages` in the order `sendMessage` created them.
    sent: Vec<(i64, i64)>,
    /// The bodies of every call, by lower-cased method name.
    calls: HashMap<String, Vec<Value>>,
    answered: Vec<String>,
    commands: Vec<String>,
    faults: HashMap<String, VecDeque<Fault>>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            next_update_id: FIRST_UPDATE_ID,
            pending: VecDeque::new(),
            confirmed_offset: 0,
            last_message_id: 0,
            next_callback: 0,
            issued_callbacks: Vec::new(),
            messages: HashMap::new(),
            sent: Vec::new(),
            calls: HashMap::new(),
            answered: Vec::new(),
            commands: Vec::new(),
            faults: HashMap::new(),
        }
    }
}

impl Store {
    fn next_message_id(&mut self) -> i64 {
        self.last_message_id += 1;
        self.last_message_id
    }

    /// Applies a `getUpdates` offset: drops every update below it for good.
    fn confirm(&mut self, offset: i64) {
        if offset > 0 {
            self.pending.retain(|(id, _)| *id >= offset);
            self.confirmed_offset = self.confirmed_offset.max(offset);
        } else if offset < 0 {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            let drop = self.pending.len().saturating_sub(keep);
            self.pending.drain(..drop);
            let first_kept = self.pending.front().map_or(self.next_update_id, |(id, _)| *id);
            self.confirmed_offset = self.confirmed_offset.max(first_kept);
        }
    }

    /// The oldest `limit` pending updates, which stay pending until confirmed.
    fn updates(&self, limit: usize) -> Value {
        Value::Array(self.pending.iter().take(limit).map(|(_, update)| update.clone()).collect())
    }
}

/// A message the bot sent: how it was first sent and how it stands now.
struct StoredMessage {
    first: Sent,
    text: String,
    /// The inline keyboard markup as the bot sent it, if any.
    markup: Option<Value>,
    date: i64,
    edit_date: Option<i64>,
    /// When `sendMessage` was accepted.
    arrived: Instant,
}

impl StoredMessage {
    fn current(&self) -> Sent {
        Sent { text: self.text.clone(), buttons: buttons(self.markup.as_ref()), ..self.first.clone() }
    }

    /// The message as the Bot API returns it.
    fn to_json(&self) -> Value {
        let mut message = base_message(self.first.message_id, bot_user(), chat(self.first.chat_id));
        message.insert("date".into(), json!(self.date));
        add_text(&mut message, &self.text);
        if let Some(edit_date) = self.edit_date {
            message.insert("edit_date".into(), json!(edit_date));
        }
        if let Some(markup) = &self.markup {
            message.insert("reply_markup".into(), markup.clone());
        }
        Value::Object(message)
    }
}

/// The server thread: serves until the stand-in stops, then lets in-flight requests finish for at
/// most two seconds.
fn serve(runtime: tokio::runtime::Runtime, listener: std::net::TcpListener, shared: Arc<Shared>) {
    let mut stop = shared.signal.subscribe();
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("bot api stand-in: cannot listen: {error}");
                return;
            }
        };
        let mut graceful = stop.clone();
        let app = Router::new().fallback(handle).with_state(shared);
        let server = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = graceful.wait_for(|signal| signal.stopping).await;
            })
            .into_future();
        let deadline = async move {
            let _ = stop.wait_for(|signal| signal.stopping).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        };
        tokio::select! {
            result = server => if let Err(error) = result {
                eprintln!("bot api stand-in: server stopped: {error}");
            },
            () = deadline => {}
        }
    });
    // Dropping the runtime cancels any connection still open.
    drop(runtime);
}

/// A status and Telegram response body.
type Reply = (StatusCode, Value);

/// Every request: `/bot{TOKEN}/{method}` with a JSON body.
async fn handle(State(shared): State<Arc<Shared>>, uri: Uri, body: Bytes) -> Response {
    let (status, body) = match method_of(uri.path()) {
        Some(method) => call(&shared, &method, &body).await,
        None => error(StatusCode::NOT_FOUND, "Not Found"),
    };
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// The lower-cased method name of a `/bot{TOKEN}/{method}` path.
fn method_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/bot")?;
    let (_token, method) = rest.split_once('/')?;
    let valid = !method.is_empty() && method.chars().all(|c| c.is_ascii_alphanumeric());
    valid.then(|| method.to_ascii_lowercase())
}

/// Counts and records the call, applies any injected fault, then answers it.
async fn call(shared: &Shared, method: &str, body: &[u8]) -> Reply {
    let params = parse_body(body);
    let fault = {
        let mut store = shared.lock();
        let recorded = params.clone().map_or(Value::Null, Value::Object);
        store.calls.entry(method.to_owned()).or_default().push(recorded);
        store.faults.get_mut(method).and_then(VecDeque::pop_front)
    };
    if let Some(fault) = fault {
        return match fault {
            Fault::TooManyRequests { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({
                    "ok": false,
                    "error_code": 429,
                    "description": format!("Too Many Requests: retry after {retry_after}"),
                    "parameters": {"retry_after": retry_after},
                }),
            ),
            Fault::ServerError => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        };
    }
    let known = matches!(
        method,
        "getme"
            | "getwebhookinfo"
            | "getupdates"
            | "sendmessage"
            | "editmessagetext"
            | "editmessagereplymarkup"
            | "answercallbackquery"
            | "setmycommands"
    );
    let params = match params {
        Some(params) => params,
        None if known => return bad_request("can't parse request JSON object"),
        None => Map::new(),
    };
    let result = match method {
        "getme" => Ok(get_me()),
        "getwebhookinfo" => Ok(webhook_info(&shared.lock())),
        "getupdates" => get_updates(shared, &params).await,
        "sendmessage" => send_message(&mut shared.lock(), &params),
        "editmessagetext" => edit_message(&mut shared.lock(), &params, true),
        "editmessagereplymarkup" => edit_message(&mut shared.lock(), &params, false),
        "answercallbackquery" => answer_callback(&mut shared.lock(), &params),
        "setmycommands" => set_commands(&mut shared.lock(), &params),
        _ => Ok(json!(true)),
    };
    match result {
        Ok(result) => (StatusCode::OK, json!({"ok": true, "result": result})),
        Err(reply) => reply,
    }
}

/// The body's parameters: a JSON object, or none for an empty body; `None` if it is neither.
fn parse_body(body: &[u8]) -> Option<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(params)) => Some(params),
        _ => None,
    }
}

fn get_me() -> Value {
    json!({
        "id": BOT_USER_ID,
        "is_bot": true,
        "first_name": "Aftercare",
        "username": BOT_USERNAME,
        "can_join_groups": true,
        "can_read_all_group_messages": false,
        "supports_inline_queries": false,
        "can_connect_to_business": false,
        "has_main_web_app": false,
    })
}

/// teloxide's polling asks for this before it starts, to delete a webhook if one is set.
fn webhook_info(store: &Store) -> Value {
    json!({"url": "", "has_custom_certificate": false, "pending_update_count": store.pending.len()})
}

/// `getUpdates`: confirms `offset`, then returns what is pending, waiting up to `timeout` seconds
/// (at most [`MAX_POLL_SECONDS`]) for something to be pushed if nothing is.
async fn get_updates(shared: &Shared, params: &Map<String, Value>) -> Result<Value, Reply> {
    let offset = int(params, "offset")?.unwrap_or(0);
    let limit = int(params, "limit")?.unwrap_or(100).clamp(1, 100);
    let limit = usize::try_from(limit).unwrap_or(100);
    let timeout = int(params, "timeout")?.unwrap_or(0).clamp(0, MAX_POLL_SECONDS as i64);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout.unsigned_abs());
    // Subscribe before looking, so a push between the look and the wait still wakes us.
    let mut signal = shared.signal.subscribe();
    {
        let mut store = shared.lock();
        store.confirm(offset);
        if !store.pending.is_empty() || timeout == 0 {
            return Ok(store.updates(limit));
        }
    }
    loop {
        tokio::select! {
            changed = signal.changed() => {
                if changed.is_err() || signal.borrow().stopping || !shared.lock().pending.is_empty() {
                    break;
                }
            }
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    Ok(shared.lock().updates(limit))
}

fn send_message(store: &mut Store, params: &Map<String, Value>) -> Result<Value, Reply> {
    let chat_id = chat_id(params)?;
    let text = message_text(params)?;
    let markup = inline_markup(params)?;
    let message_id = store.next_message_id();
    let stored = StoredMessage {
        first: Sent { chat_id, text: text.clone(), buttons: buttons(markup.as_ref()), message_id },
        text,
        markup,
        date: unix_now(),
        edit_date: None,
        arrived: Instant::now(),
    };
    let result = stored.to_json();
    store.messages.insert((chat_id, message_id), stored);
    store.sent.push((chat_id, message_id));
    Ok(result)
}

/// `editMessageText` (`text` true) or `editMessageReplyMarkup`. Both replace the inline keyboard
/// with the one given, or remove it if none is.
fn edit_message(store: &mut Store, params: &Map<String, Value>, text: bool) -> Result<Value, Reply> {
    let new_text = if text { Some(message_text(params)?) } else { None };
    let markup = inline_markup(params)?;
    if params.contains_key("inline_message_id") {
        return Ok(json!(true));
    }
    let chat_id = chat_id(params)?;
    let Some(message_id) = int(params, "message_id")? else {
        return Err(bad_request("message identifier is not specified"));
    };
    let Some(stored) = store.messages.get_mut(&(chat_id, message_id)) else {
        return Err(bad_request("message to edit not found"));
    };
    let unchanged = new_text.as_ref().is_none_or(|new| *new == stored.text) && markup == stored.markup;
    if unchanged {
        return Err(bad_request(
            "message is not modified: specified new message content and reply markup are exactly the same as a \
             current content and reply markup of the message",
        ));
    }
    if let Some(new_text) = new_text {
        stored.text = new_text;
    }
    stored.markup = markup;
    stored.edit_date = Some(unix_now());
    Ok(stored.to_json())
}

fn answer_callback(store: &mut Store, params: &Map<String, Value>) -> Result<Value, Reply> {
    let id = string(params, "callback_query_id")?.unwrap_or_default();
    if !store.issued_callbacks.contains(&id) {
        return Err(bad_request("query is too old and response timeout expired or query ID is invalid"));
    }
    store.answered.push(id);
    Ok(json!(true))
}

/// `setMyCommands`, checking each command as Telegram does: 1-32 lower-case letters, digits or
/// underscores, with a description of 1-256 characters.
fn set_commands(store: &mut Store, params: &Map<String, Value>) -> Result<Value, Reply> {
    let Some(Value::Array(commands)) = params.get("commands") else {
        return Err(bad_request("parameter \"commands\" is required"));
    };
    let mut names = Vec::new();
    for command in commands {
        let name = command.get("command").and_then(Value::as_str).unwrap_or_default();
        let description = command.get("description").and_then(Value::as_str).unwrap_or_default();
        let name_ok = (1..=32).contains(&name.len())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !name_ok {
            return Err(bad_request("BOT_COMMAND_INVALID"));
        }
        if !(1..=256).contains(&description.chars().count()) {
            return Err(bad_request("command description is empty or too long"));
        }
        names.push(name.to_owned());
    }
    store.commands = names;
    Ok(json!(true))
}

/// `chat_id`: an integer, or a string holding one (a `@username` is a chat we don't know).
fn chat_id(params: &Map<String, Value>) -> Result<i64, Reply> {
    match params.get("chat_id") {
        None | Some(Value::Null) => Err(bad_request("chat_id is empty")),
        Some(Value::Number(number)) => number.as_i64().ok_or_else(|| bad_request("chat not found")),
        Some(Value::String(text)) => text.trim().parse().map_err(|_| bad_request("chat not found")),
        Some(_) => Err(bad_request("chat not found")),
    }
}

/// `text`: present, not blank, and at most [`MAX_TEXT_CHARS`] characters.
fn message_text(params: &Map<String, Value>) -> Result<String, Reply> {
    let text = string(params, "text")?.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(bad_request("message text is empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(bad_request("message is too long"));
    }
    Ok(text)
}

/// The `reply_markup` if it is an inline keyboard (other markups are not kept on the message, as
/// on Telegram). Accepts the markup as an object or as a string holding its JSON.
fn inline_markup(params: &Map<String, Value>) -> Result<Option<Value>, Reply> {
    let invalid = || bad_request("can't parse reply keyboard markup JSON object");
    let markup = match params.get("reply_markup") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|_| invalid())?,
        Some(markup) => markup.clone(),
    };
    let Some(keyboard) = markup.get("inline_keyboard") else {
        return if markup.is_object() { Ok(None) } else { Err(invalid()) };
    };
    let rows = keyboard.as_array().ok_or_else(invalid)?;
    for row in rows {
        for button in row.as_array().ok_or_else(invalid)? {
            if !button.get("text").is_some_and(Value::is_string) {
                return Err(bad_request("text buttons are unallowed in the inline keyboard"));
            }
        }
    }
    Ok(Some(markup))
}

/// The `(text, callback_data)` pairs of an inline keyboard, row by row; `url` (or "") stands in
/// for a button without callback data.
fn buttons(markup: Option<&Value>) -> Vec<(String, String)> {
    let rows = markup.and_then(|markup| markup.get("inline_keyboard")).and_then(Value::as_array);
    let text = |button: &Value, key: &str| button.get(key).and_then(Value::as_str).map(str::to_owned);
    rows.into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .map(|button| {
            let data = text(button, "callback_data").or_else(|| text(button, "url")).unwrap_or_default();
            (text(button, "text").unwrap_or_default(), data)
        })
        .collect()
}

/// An optional integer parameter (as a number or a string holding one).
fn int(params: &Map<String, Value>, key: &str) -> Result<Option<i64>, Reply> {
    let wrong = || bad_request(&format!("field \"{key}\" must be an Integer"));
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number.as_i64().map(Some).ok_or_else(wrong),
        Some(Value::String(text)) => text.trim().parse().map(Some).map_err(|_| wrong()),
        Some(_) => Err(wrong()),
    }
}

/// An optional string parameter.
fn string(params: &Map<String, Value>, key: &str) -> Result<Option<String>, Reply> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(bad_request(&format!("field \"{key}\" must be a String"))),
    }
}

fn bad_request(description: &str) -> Reply {
    error(StatusCode::BAD_REQUEST, &format!("Bad Request: {description}"))
}

fn error(status: StatusCode, description: &str) -> Reply {
    (status, json!({"ok": false, "error_code": status.as_u16(), "description": description}))
}

/// A message's common fields, dated now.
fn base_message(message_id: i64, from: Value, chat: Value) -> Map<String, Value> {
    let mut message = Map::new();
    message.insert("message_id".into(), json!(message_id));
    message.insert("from".into(), from);
    message.insert("chat".into(), chat);
    message.insert("date".into(), json!(unix_now()));
    message
}

/// Sets a message's `text`, with a `bot_command` entity if it starts with a command.
fn add_text(message: &mut Map<String, Value>, text: &str) {
    message.insert("text".into(), json!(text));
    if text.starts_with('/') {
        let command = text.split_whitespace().next().unwrap_or(text);
        let length = command.encode_utf16().count();
        message.insert("entities".into(), json!([{"type": "bot_command", "offset": 0, "length": length}]));
    }
}

/// A person: the user `id`, first name "Pat".
fn user(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": USER_FIRST_NAME, "language_code": "en"})
}

fn bot_user() -> Value {
    json!({"id": BOT_USER_ID, "is_bot": true, "first_name": "Aftercare", "username": BOT_USERNAME})
}

/// The chat `id`: a group if negative, else the private chat with user `id`.
fn chat(id: i64) -> Value {
    if id < 0 {
        group_chat(id)
    } else {
        json!({"id": id, "type": "private", "first_name": USER_FIRST_NAME})
    }
}

fn group_chat(id: i64) -> Value {
    json!({"id": id, "type": "group", "title": "Aftercare test group"})
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |elapsed| elapsed.as_secs().try_into().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::blocking::Client;
    use teloxide::payloads::{GetUpdatesSetters, SendMessageSetters};
    use teloxide::requests::Requester;
    use teloxide::types::{BotCommand, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, MessageId, UpdateKind};
    use teloxide::{Bot, RequestError};

    const TOKEN: &str = "123456:TEST-token";

    fn post(client: &Client, api: &BotApi, method: &str, body: Value) -> (u16, Value) {
        let response =
            client.post(format!("{}/bot{TOKEN}/{method}", api.url())).json(&body).send().expect("the stand-in answers");
        let status = response.status().as_u16();
        (status, response.json().expect("a JSON body"))
    }

    #[test]
    fn support_bot_api_sent_since_follows_a_run_from_a_cursor() {
        let api = BotApi::start();
        let client = Client::new();
        let before = Instant::now();
        for text in ["one", "two", "three"] {
            let (status, _) = post(&client, &api, "sendMessage", json!({"chat_id": 7, "text": text}));
            assert_eq!(status, 200);
        }
        let texts = |from| api.sent_since(from).into_iter().map(|(sent, _)| sent.text).collect::<Vec<_>>();
        assert_eq!(texts(0), ["one", "two", "three"]);
        assert_eq!(texts(2), ["three"]);
        assert!(texts(3).is_empty() && texts(99).is_empty());
        let times: Vec<Instant> = api.sent_since(0).into_iter().map(|(_, at)| at).collect();
        assert!(times[0] >= before && times.windows(2).all(|w| w[0] <= w[1]) && times[2] <= Instant::now());
    }

    #[test]
    fn support_bot_api_speaks_telegram_over_plain_http() {
        let api = BotApi::start();
        let client = Client::new();
        assert!(api.url().starts_with("http://127.0.0.1:"));

        let (status, me) = post(&client, &api, "getMe", json!({}));
        assert_eq!(status, 200);
        assert_eq!(me["result"]["username"], BOT_USERNAME);
        assert_eq!(me["result"]["is_bot"], true);

        // Updates stay pending until an offset confirms them.
        let first = api.push_text(42, "hello");
        api.push_sticker(42);
        let (_, updates) = post(&client, &api, "getUpdates", json!({"timeout": 0}));
        let updates = updates["result"].as_array().cloned().unwrap_or_default();
        assert_eq!(updates.len(), 2);
        assert_eq!(updates[0]["update_id"], FIRST_UPDATE_ID);
        assert_eq!(updates[0]["message"]["message_id"], first);
        assert_eq!(updates[0]["message"]["text"], "hello");
        assert_eq!(updates[0]["message"]["from"]["first_name"], "Pat");
        let (_, again) = post(&client, &api, "getUpdates", json!({"offset": FIRST_UPDATE_ID + 1, "limit": 5}));
        assert_eq!(again["result"].as_array().map(Vec::len), Some(1));
        assert_eq!(api.confirmed_offset(), FIRST_UPDATE_ID + 1);
        // A lower offset later cannot bring a confirmed update back.
        let (_, again) = post(&client, &api, "getUpdates", json!({"offset": FIRST_UPDATE_ID}));
        assert_eq!(again["result"][0]["update_id"], FIRST_UPDATE_ID + 1);
        assert_eq!(api.confirmed_offset(), FIRST_UPDATE_ID + 1);

        // A long poll with nothing pending waits for a push ...
        post(&client, &api, "getUpdates", json!({"offset": FIRST_UPDATE_ID + 2}));
        assert_eq!(api.pending(), 0);
        let started = Instant::now();
        let (updates, waited) = std::thread::scope(|scope| {
            let poll = scope.spawn(|| {
                let (_, updates) =
                    post(&client, &api, "getUpdates", json!({"offset": FIRST_UPDATE_ID + 2, "timeout": 8}));
                (updates, started.elapsed())
            });
            std::thread::sleep(Duration::from_millis(300));
            api.push_text(42, "late");
            poll.join().expect("the polling thread")
        });
        assert_eq!(updates["result"][0]["message"]["text"], "late");
        assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(3), "{waited:?}");
        // ... and without one returns an empty list once the timeout is up.
        post(&client, &api, "getUpdates", json!({"offset": FIRST_UPDATE_ID + 3}));
        let started = Instant::now();
        let (_, empty) = post(&client, &api, "getUpdates", json!({"offset": FIRST_UPDATE_ID + 3, "timeout": 1}));
        assert_eq!(empty["result"], json!([]));
        assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());

        // sendMessage records the text and the keyboard.
        let keyboard = json!({"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}, {"text": "No", "callback_data": "n"}],
                                                  [{"text": "Help", "url": "https://example.org/help"}]]});
        let (status, sent) =
            post(&client, &api, "sendMessage", json!({"chat_id": 42, "text": "Feeling ok?", "reply_markup": keyboard}));
        assert_eq!(status, 200, "{sent}");
        let message_id = sent["result"]["message_id"].as_i64().unwrap_or_default();
        assert!(message_id > first);
        assert_eq!(sent["result"]["reply_markup"], keyboard);
        let expected = Sent {
            chat_id: 42,
            text: "Feeling ok?".into(),
            buttons: vec![
                ("Yes".into(), "y".into()),
                ("No".into(), "n".into()),
                ("Help".into(), "https://example.org/help".into()),
            ],
            message_id,
        };
        assert_eq!(api.sent(), vec![expected.clone()]);
        assert_eq!(api.wait_for_sent(|sent| sent.text.contains("ok?"), Duration::from_secs(1)), Some(expected));
        assert_eq!(api.wait_for_sent(|sent| sent.chat_id == 7, Duration::from_millis(50)), None);

        // Edits change the message as it stands, not the record of what was sent.
        let (status, edited) = post(
            &client,
            &api,
            "editMessageText",
            json!({"chat_id": "42", "message_id": message_id, "text": "Thanks", "reply_markup": keyboard}),
        );
        assert_eq!(status, 200, "{edited}");
        assert_eq!(edited["result"]["text"], "Thanks");
        let (status, same) = post(
            &client,
            &api,
            "editMessageText",
            json!({"chat_id": 42, "message_id": message_id, "text": "Thanks", "reply_markup": keyboard}),
        );
        assert_eq!(status, 400);
        assert!(same["description"].as_str().is_some_and(|d| d.starts_with("Bad Request: message is not modified")));
        let (status, _) =
            post(&client, &api, "editMessageReplyMarkup", json!({"chat_id": 42, "message_id": message_id}));
        assert_eq!(status, 200);
        let now = api.message(42, message_id).expect("the message");
        assert_eq!((now.text.as_str(), now.buttons.len()), ("Thanks", 0));
        assert_eq!(api.sent()[0].text, "Feeling ok?");
        let (status, _) =
            post(&client, &api, "editMessageText", json!({"chat_id": 42, "message_id": 999, "text": "x"}));
        assert_eq!(status, 400);

        // Callback queries carry the bot's message and can be answered once issued.
        let query = api.push_callback(42, message_id, "y");
        let (_, updates) = post(&client, &api, "getUpdates", json!({"offset": FIRST_UPDATE_ID + 3}));
        let callback = &updates["result"][0]["callback_query"];
        assert_eq!(callback["id"], query.as_str());
        assert_eq!(callback["data"], "y");
        assert_eq!(callback["message"]["text"], "Thanks");
        let (status, _) = post(&client, &api, "answerCallbackQuery", json!({"callback_query_id": query}));
        assert_eq!(status, 200);
        let (status, _) = post(&client, &api, "answerCallbackQuery", json!({"callback_query_id": "nope"}));
        assert_eq!(status, 400);
        assert_eq!(api.answered_callbacks(), vec![query]);

        // setMyCommands keeps the latest list and refuses invalid names.
        let commands = json!({"commands": [{"command": "start", "description": "Begin"}, {"command": "help", "description": "Help"}]});
        assert_eq!(post(&client, &api, "setMyCommands", commands).0, 200);
        assert_eq!(api.commands(), vec!["start", "help"]);
        let invalid = json!({"commands": [{"command": "/Start", "description": "Begin"}]});
        assert_eq!(post(&client, &api, "setMyCommands", invalid).0, 400);
        assert_eq!(api.commands(), vec!["start", "help"]);

        // Faults: the Telegram status and body, counted as calls, nothing sent.
        api.fail_next("sendMessage", 1, Fault::TooManyRequests { retry_after: 3 });
        api.fail_next("sendmessage", 1, Fault::ServerError);
        let (status, limited) = post(&client, &api, "sendMessage", json!({"chat_id": 42, "text": "a"}));
        assert_eq!(status, 429);
        assert_eq!(
            limited,
            json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3",
                   "parameters": {"retry_after": 3}})
        );
        let (status, failed) = post(&client, &api, "sendMessage", json!({"chat_id": 42, "text": "b"}));
        assert_eq!(status, 500);
        assert_eq!(failed, json!({"ok": false, "error_code": 500, "description": "Internal Server Error"}));
        assert_eq!(post(&client, &api, "sendMessage", json!({"chat_id": 42, "text": "c"})).0, 200);
        assert_eq!(api.sent().iter().map(|sent| sent.text.as_str()).collect::<Vec<_>>(), ["Feeling ok?", "c"]);
        assert_eq!(api.calls("sendMessage"), 4);
        assert_eq!(api.requests("sendMessage")[2]["text"], "b");

        // Bad input gets a 400 Telegram error, never a crash.
        let bad = [
            json!({"text": "no chat"}),
            json!({"chat_id": 42}),
            json!({"chat_id": 42, "text": "   "}),
            json!({"chat_id": "@someone", "text": "x"}),
            json!({"chat_id": [1], "text": "x"}),
            json!({"chat_id": 42, "text": 5}),
            json!({"chat_id": 42, "text": "x".repeat(MAX_TEXT_CHARS + 1)}),
            json!({"chat_id": 42, "text": "x", "reply_markup": {"inline_keyboard": "no"}}),
            json!({"chat_id": 42, "text": "x", "reply_markup": "{not json"}),
        ];
        for body in bad {
            let (status, reply) = post(&client, &api, "sendMessage", body.clone());
            assert_eq!(status, 400, "{body} -> {reply}");
            assert_eq!(reply["ok"], false);
            assert!(reply["description"].as_str().is_some_and(|d| d.starts_with("Bad Request: ")), "{reply}");
        }
        let garbage = client.post(format!("{}/bot{TOKEN}/sendMessage", api.url())).body("{oops").send();
        assert_eq!(garbage.map(|response| response.status().as_u16()).ok(), Some(400));
        let (status, _) = post(&client, &api, "getUpdates", json!({"offset": "soon"}));
        assert_eq!(status, 400);
        assert_eq!(api.sent().len(), 2);

        // Unknown methods are counted and answered true; other paths are 404.
        let (status, reply) = post(&client, &api, "sendChatAction", json!({"chat_id": 42, "action": "typing"}));
        assert_eq!((status, reply), (200, json!({"ok": true, "result": true})));
        assert_eq!(api.calls("sendChatAction"), 1);
        assert_eq!(api.calls("neverCalled"), 0);
        let missing = client.get(format!("{}/nowhere", api.url())).send();
        assert_eq!(missing.map(|response| response.status().as_u16()).ok(), Some(404));

        // wait_until sees the state change, and gives up when it does not.
        assert!(api.wait_until(|api| api.calls("getMe") == 1, Duration::from_millis(100)));
        assert!(!api.wait_until(|api| api.calls("getMe") == 2, Duration::from_millis(50)));
    }

    #[test]
    fn support_bot_api_is_understood_by_teloxide() {
        let api = BotApi::start();
        let url = reqwest::Url::parse(&api.url()).expect("a URL");
        let bot = Bot::new(TOKEN).set_api_url(url);
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(async {
            let me = bot.get_me().await.expect("getMe");
            assert_eq!(me.username(), BOT_USERNAME);
            assert!(me.user.is_bot);
            let webhook = bot.get_webhook_info().await.expect("getWebhookInfo");
            assert!(webhook.url.is_none());
            bot.delete_webhook().await.expect("deleteWebhook");
            let commands = [BotCommand::new("start", "Begin"), BotCommand::new("stop", "Stop reminders")];
            bot.set_my_commands(commands).await.expect("setMyCommands");

            let keyboard = InlineKeyboardMarkup::new([[
                InlineKeyboardButton::callback("Better", "better"),
                InlineKeyboardButton::callback("Worse", "worse"),
            ]]);
            let sent = bot.send_message(ChatId(42), "How are you?").reply_markup(keyboard.clone()).await;
            let sent = sent.expect("sendMessage");
            assert_eq!(sent.text(), Some("How are you?"));
            assert_eq!(sent.reply_markup(), Some(&keyboard));
            assert_eq!(sent.from.as_ref().map(|from| from.id.0), Some(BOT_USER_ID as u64));
            let edited = bot.edit_message_text(ChatId(42), sent.id, "Noted").await.expect("editMessageText");
            assert_eq!(edited.text(), Some("Noted"));
            assert!(edited.edit_date().is_some());
            let unchanged = bot.edit_message_text(ChatId(42), sent.id, "Noted").await;
            assert!(matches!(unchanged, Err(RequestError::Api(teloxide::ApiError::MessageNotModified))));
            let gone = bot.edit_message_reply_markup(ChatId(42), MessageId(9999)).await;
            assert!(matches!(gone, Err(RequestError::Api(_))), "{gone:?}");

            let text = api.push_text(42, "/start now");
            let edit_of = api.push_text(42, "typo");
            api.push_edit(42, edit_of, "fixed");
            let query = api.push_callback(42, sent.id.0.into(), "better");
            api.push_sticker(42);
            api.push_photo(42, Some("my rash"));
            api.push_photo(42, None);
            api.push_group_text(-100, 77, "hi all");
            let updates = bot.get_updates().timeout(1).await.expect("getUpdates");
            assert_eq!(updates.len(), 8);
            assert_eq!(updates[0].id.0, FIRST_UPDATE_ID as u32);
            let message = |index: usize| match &updates[index].kind {
                UpdateKind::Message(message) => message.clone(),
                other => panic!("update {index} is not a message: {other:?}"),
            };
            let start = message(0);
            assert_eq!((start.id.0, start.text()), (i32::try_from(text).unwrap_or_default(), Some("/start now")));
            assert!(start.chat.is_private());
            assert_eq!(start.from.as_ref().map(|from| (from.id.0, from.first_name.as_str())), Some((42, "Pat")));
            assert_eq!(start.entities().map(<[_]>::len), Some(1));
            match &updates[2].kind {
                UpdateKind::EditedMessage(edited) => {
                    assert_eq!((edited.id.0.into(), edited.text()), (edit_of, Some("fixed")));
                    assert!(edited.edit_date().is_some());
                }
                other => panic!("not an edit: {other:?}"),
            }
            match &updates[3].kind {
                UpdateKind::CallbackQuery(callback) => {
                    assert_eq!(callback.id.0, query);
                    assert_eq!(callback.data.as_deref(), Some("better"));
                    assert_eq!(callback.from.id.0, 42);
                    let on = callback.regular_message().expect("the bot's message");
                    assert_eq!((on.id, on.text()), (sent.id, Some("Noted")));
                }
                other => panic!("not a callback query: {other:?}"),
            }
            assert_eq!(message(4).sticker().and_then(|sticker| sticker.emoji.as_deref()), Some("👍"));
            assert_eq!(message(5).photo().map(<[_]>::len), Some(2));
            assert_eq!(message(5).caption(), Some("my rash"));
            assert!(message(6).photo().is_some() && message(6).caption().is_none());
            let group = message(7);
            assert!(group.chat.is_group());
            assert_eq!((group.chat.id, group.from.map(|from| from.id.0)), (ChatId(-100), Some(77)));

            bot.answer_callback_query(query.clone().into()).await.expect("answerCallbackQuery");
            let next = updates[7].id.as_offset();
            assert!(bot.get_updates().offset(next).await.expect("confirm").is_empty());

            api.fail_next("sendMessage", 1, Fault::TooManyRequests { retry_after: 2 });
            let limited = bot.send_message(ChatId(42), "hello").await;
            assert!(matches!(limited, Err(RequestError::RetryAfter(seconds)) if seconds.seconds() == 2), "{limited:?}");
        });
        assert_eq!(api.commands(), vec!["start", "stop"]);
        assert_eq!(api.answered_callbacks().len(), 1);
        assert_eq!(api.confirmed_offset(), FIRST_UPDATE_ID + 8);
        assert_eq!(api.sent().len(), 1);
        assert_eq!(api.calls("sendMessage"), 2);
        assert_eq!(api.calls("deleteWebhook"), 1);
    }

    #[test]
    fn support_bot_api_stops_on_drop_even_mid_poll() {
        let api = BotApi::start();
        let url = api.url();
        let poll = std::thread::spawn(move || {
            let client = Client::new();
            client.post(format!("{url}/bot{TOKEN}/getUpdates")).json(&json!({"timeout": 10})).send().map(|_| ())
        });
        assert!(api.wait_until(|api| api.calls("getUpdates") == 1, Duration::from_secs(2)));
        let addr = api.addr;
        let started = Instant::now();
        drop(api);
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        let _ = poll.join();
        assert!(std::net::TcpStream::connect(addr).is_err(), "the port is closed");
    }
}
