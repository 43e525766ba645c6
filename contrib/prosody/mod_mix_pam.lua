-- mod_mix_pam: XEP-0405 (MIX-PAM), the participant's-server half of MIX.
--
-- Part of mixmuc (contrib/prosody). MIT licensed, like Prosody itself.
--
-- Written for Prosody 0.12; uses only APIs that Prosody 13 keeps.
-- Load it on a VirtualHost (it is a per-host module):
--
--   plugin_paths = { "/path/to/mixmuc/contrib/prosody" }
--   modules_enabled = { ..., "roster", "disco", "mam", "mix_pam" }
--
-- What it does (see docs/deploy/prosody.md for the operator's view):
--
--  * advertises urn:xmpp:mix:pam:2 (and #archive when mod_mam is loaded) on
--    the account's disco#info;
--  * client-join / client-leave (IQ set from a user's full JID to their own
--    bare JID): the inner <join/> / <leave/> goes to the channel from the
--    user's bare JID with the client's IQ id; on the channel's result the
--    channel is added to (removed from) the roster and the client gets the
--    result wrapped in <client-join/> (<client-leave/>); channel errors are
--    passed back, no answer within mix_pam_timeout gives
--    remote-server-timeout;
--  * the channel -> participant id map is kept in the "mix_pam" store
--    (keyval, one record per user), so it survives restarts;
--  * roster get with <annotate xmlns='urn:xmpp:mix:roster:0'/> marks channel
--    items, and later roster pushes to that session keep the mark;
--  * type=groupchat to a user's bare JID from a joined channel is archived by
--    mod_mam (if loaded) and delivered to each available resource that is
--    MIX capable per its entity capabilities (XEP-0115), or, when a
--    resource's capabilities are unknown, according to
--    mix_pam_unknown_caps ("priority": available with priority >= 0,
--    the default; "all"; "none"). It is never bounced;
--  * presence from a joined channel's proxy JIDs (id#channel@mix-domain)
--    reaches the available resources (Prosody's normal presence routing)
--    and is remembered in memory, so a resource coming online later gets
--    the channel's current presence; when nothing is remembered for a
--    channel the user shares presence with (after a restart), the channel
--    is asked once with an available presence from the bare JID (XEP-0405
--    2.9.3);
--  * available presence from resources known NOT to be MIX capable is not
--    broadcast to channels with shared presence (XEP-0405 2.9);
--  * deleting an account leaves all its channels.

local st = require "util.stanza";
local jid_lib = require "util.jid";
local new_id = require "util.id".medium;
local new_cache = require "util.cache".new;
local filters = require "util.filters";
local rostermanager = require "core.rostermanager";
local modulemanager = require "core.modulemanager";
local calculate_hash = require "util.caps".calculate_hash;

local jid_bare, jid_split, jid_prep, jid_join =
	jid_lib.bare, jid_lib.split, jid_lib.prep, jid_lib.join;
local pairs, ipairs, next, tostring, type = pairs, ipairs, next, tostring, type;

local xmlns_pam = "urn:xmpp:mix:pam:2";
local xmlns_pam_archive = "urn:xmpp:mix:pam:2#archive";
local xmlns_mix = "urn:xmpp:mix:core:1";
local xmlns_mix_roster = "urn:xmpp:mix:roster:0";
local xmlns_roster = "jabber:iq:roster";
local xmlns_caps = "http://jabber.org/protocol/caps";
local xmlns_disco_info = "http://jabber.org/protocol/disco#info";
local xmlns_delay = "urn:xmpp:delay";
local xmlns_stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
local xmlns_pubsub_event = "http://jabber.org/protocol/pubsub#event";
local node_presence = "urn:xmpp:mix:nodes:presence";

local host = module.host;
local full_sessions, bare_sessions = prosody.full_sessions, prosody.bare_sessions;

local iq_timeout = module:get_option_number("mix_pam_timeout", 30);
local unknown_caps_policy = module:get_option_string("mix_pam_unknown_caps", "priority");
local roster_group = module:get_option_string("mix_pam_roster_group", nil);
local caps_cache_size = module:get_option_number("mix_pam_caps_cache_size", 1000);
local user_cache_size = module:get_option_number("mix_pam_user_cache_size", 1000);

if unknown_caps_policy ~= "priority" and unknown_caps_policy ~= "all" and unknown_caps_policy ~= "none" then
	module:log("error", "mix_pam_unknown_caps must be \"priority\", \"all\" or \"none\", not %q; using \"priority\"",
		tostring(unknown_caps_policy));
	unknown_caps_policy = "priority";
end

---------------------------------------------------------------------------
-- Persistent state: username -> { [channel bare JID] = record }
-- record = { id = participant id (string or nil), presence = boolean,
--            joined = unix time }
---------------------------------------------------------------------------

local store = module:open_store("mix_pam");
local channels_cache = new_cache(user_cache_size);

local function get_channels(username)
	local channels = channels_cache:get(username);
	if channels then return channels; end
	local data, err = store:get(username);
	if not data and err then
		module:log("error", "Could not load MIX channels of %s@%s: %s", username, host, err);
		return {}; -- not cached, try again next time
	end
	channels = data or {};
	channels_cache:set(username, channels);
	return channels;
end

local function save_channels(username, channels)
	channels_cache:set(username, channels);
	local ok, err = store:set(username, next(channels) and channels or nil);
	if not ok then
		module:log("error", "Could not save MIX channels of %s@%s: %s", username, host, err);
	end
	return ok, err;
end

local function joined_channel(username, channel)
	if not username or not channel then return nil; end
	return get_channels(username)[channel];
end

-- Is this stanza addressed to the bare JID of a local user and sent by a
-- channel that user joined (from = channel or channel/participant-id)?
-- Returns username, channel, record.
local function from_joined_channel(stanza)
	local to, from = stanza.attr.to, stanza.attr.from;
	if not to or not from then return nil; end
	local node, to_host, resource = jid_split(to);
	if resource or to_host ~= host or not node then return nil; end
	local channel = jid_bare(from);
	local record = joined_channel(node, channel);
	if record then return node, channel, record; end
	return nil;
end

-- "123456#coven@mix.example" -> "coven@mix.example", "123456"
local function channel_of_proxy(jid)
	local node, h = jid_split(jid);
	if not node or not h then return nil; end
	local pid, channel_node = node:match("^(.-)#(.+)$");
	if not pid then return nil; end
	return channel_node .. "@" .. h, pid;
end

---------------------------------------------------------------------------
-- Client capabilities (XEP-0115). session.mix_pam_caps is true (MIX
-- capable), false (not MIX capable) or nil (unknown).
---------------------------------------------------------------------------

local caps_cache = new_cache(caps_cache_size); -- verified caps ver -> boolean

local function wants_mix(session)
	if not session.presence then return false; end -- only available resources
	local capable = session.mix_pam_caps;
	if capable ~= nil then return capable; end
	if unknown_caps_policy == "all" then return true; end
	if unknown_caps_policy == "none" then return false; end
	return (session.priority or 0) >= 0;
end

local function strip_delay(stanza)
	return stanza:maptags(function (tag)
		if tag.name == "delay" and tag.attr.xmlns == xmlns_delay then return nil; end
		return tag;
	end);
end

-- A resource turned out not to be MIX capable after its available presence
-- was already broadcast to channels: tell those channels it is gone.
local function withdraw_presence(session)
	for channel, record in pairs(get_channels(session.username)) do
		if record.presence then
			module:log("debug", "%s is not MIX capable, withdrawing its presence from %s", session.full_jid, channel);
			module:send(st.presence({ type = "unavailable", from = session.full_jid, to = channel }), session);
		end
	end
end

local function set_caps(session, capable)
	local before = session.mix_pam_caps;
	session.mix_pam_caps = capable;
	module:log("debug", "%s is %sMIX capable", session.full_jid, capable and "" or "not ");
	if capable == false and before ~= false and session.presence then
		withdraw_presence(session);
	end
end

local function query_caps(session, ver, hash, node)
	local user_bare = jid_join(session.username, host);
	local iq = st.iq({ type = "get", from = user_bare, to = session.full_jid, id = "mixpam-" .. new_id() })
		:tag("query", { xmlns = xmlns_disco_info, node = node .. "#" .. ver });
	module:send_iq(iq, nil, 30):next(function (event)
		local query = event.stanza:get_child("query", xmlns_disco_info);
		if not query then return; end
		local capable = false;
		for feature in query:childtags("feature") do
			if feature.attr.var == xmlns_mix then capable = true; break; end
		end
		if hash == "sha-1" and calculate_hash(query.tags) == ver then
			caps_cache:set(ver, capable); -- only cache what we could verify
		end
		if session.mix_pam_caps_ver == ver and full_sessions[session.full_jid] == session then
			set_caps(session, capable);
		end
	end, function (err)
		module:log("debug", "Could not discover capabilities of %s: %s", session.full_jid, tostring(err and err.text or err));
	end);
end

-- Own broadcast presence of a local client (no 'to').
module:hook("presence/bare", function (event)
	local origin, stanza = event.origin, event.stanza;
	if stanza.attr.to or origin.type ~= "c2s" or not origin.username then return; end
	local t = stanza.attr.type;
	if t == "unavailable" then
		origin.mix_pam_caps, origin.mix_pam_caps_ver = nil, nil;
		return;
	elseif t ~= nil then
		return;
	end
	local c = stanza:get_child("c", xmlns_caps);
	if not c then return; end -- no caps (or caps optimisation): keep what we know
	local ver, node, hash = c.attr.ver, c.attr.node, c.attr.hash;
	if not ver or not node then return; end
	if origin.mix_pam_caps_ver == ver then return; end
	origin.mix_pam_caps_ver = ver;
	if hash == "sha-1" then
		local known = caps_cache:get(ver);
		if known ~= nil then
			set_caps(origin, known);
			return;
		end
	end
	origin.mix_pam_caps = nil; -- unknown until the client answers
	query_caps(origin, ver, hash, node);
end, 20);

-- XEP-0405 2.9: only MIX clients' presence goes to channels. Drop available
-- presence from resources known not to be MIX capable; unknown ones pass.
module:hook("pre-presence/bare", function (event)
	local origin, stanza = event.origin, event.stanza;
	if origin.type ~= "c2s" or origin.mix_pam_caps ~= false or stanza.attr.type ~= nil then return; end
	local to = stanza.attr.to;
	if to and joined_channel(origin.username, to) then
		module:log("debug", "Not sending presence of non-MIX resource %s to %s", origin.full_jid, to);
		return true;
	end
end, 10);

---------------------------------------------------------------------------
-- Disco (XEP-0405 2.4)
---------------------------------------------------------------------------

module:hook("account-disco-info", function (event)
	local reply = event.reply or event.stanza;
	reply:tag("feature", { var = xmlns_pam }):up();
	if modulemanager.is_loaded(host, "mam") then
		reply:tag("feature", { var = xmlns_pam_archive }):up();
	end
end);

---------------------------------------------------------------------------
-- Roster helpers
---------------------------------------------------------------------------

local function roster_set_channel(username, channel, subscription)
	local roster, err = rostermanager.load_roster(username, host);
	if not roster then
		return nil, err;
	end
	local item = roster[channel];
	if item then
		item.subscription = subscription;
		item.ask = nil;
	else
		item = { subscription = subscription, groups = {} };
		if roster_group then item.groups[roster_group] = true; end
		roster[channel] = item;
	end
	local ok, save_err = rostermanager.save_roster(username, host, roster, channel);
	if not ok then return nil, save_err; end
	rostermanager.roster_push(username, host, channel);
	return true;
end

local function roster_remove_channel(username, channel)
	local roster, err = rostermanager.load_roster(username, host);
	if not roster then return nil, err; end
	if not roster[channel] then return true; end
	roster[channel] = nil;
	local ok, save_err = rostermanager.save_roster(username, host, roster, channel);
	if not ok then return nil, save_err; end
	rostermanager.roster_push(username, host, channel);
	return true;
end

---------------------------------------------------------------------------
-- Roster annotation (XEP-0405 2.10)
---------------------------------------------------------------------------

local function annotate_filter(stanza, session)
	if not session.mix_pam_annotate or type(stanza) ~= "table" or stanza.name ~= "iq" then
		return stanza;
	end
	local t = stanza.attr.type;
	if t ~= "result" and t ~= "set" then return stanza; end
	local query = stanza.tags[1];
	if not query or query.name ~= "query" or query.attr.xmlns ~= xmlns_roster then return stanza; end
	local channels = get_channels(session.username);
	if not next(channels) then return stanza; end
	local any = false;
	for item in query:childtags("item") do
		if channels[item.attr.jid] and item.attr.subscription ~= "remove" then
			any = true;
			break;
		end
	end
	if not any then return stanza; end
	-- A roster push is one stanza object sent to every session: never modify it in place.
	local copy = st.clone(stanza);
	for item in copy.tags[1]:childtags("item") do
		local record = channels[item.attr.jid];
		if record and item.attr.subscription ~= "remove" and not item:get_child("channel", xmlns_mix_roster) then
			item:tag("channel", { xmlns = xmlns_mix_roster, ["participant-id"] = record.id }):up();
		end
	end
	return copy;
end

-- Every roster get sets (or resets) the annotation preference of the session.
module:hook("iq/self/" .. xmlns_roster .. ":query", function (event)
	local origin, stanza = event.origin, event.stanza;
	if stanza.attr.type ~= "get" or not origin.username then return; end
	local annotate = stanza.tags[1]:get_child("annotate", xmlns_mix_roster) ~= nil;
	origin.mix_pam_annotate = annotate or nil;
	if annotate then
		filters.add_filter(origin, "stanzas/out", annotate_filter, 1); -- no-op if already there
	end
end, 10);

---------------------------------------------------------------------------
-- Channel presence, remembered in memory per user:
-- presence_cache[username][channel][proxy full JID] = presence stanza
---------------------------------------------------------------------------

local presence_cache = {};

-- refreshed[username][channel] = true once the channel was asked for its
-- presence since start (see refresh_channel_presence).
local refreshed = {};

local function forget_channel_presence(username, channel)
	if refreshed[username] then
		if channel then refreshed[username][channel] = nil; else refreshed[username] = nil; end
	end
	local user = presence_cache[username];
	if not user then return; end
	if channel then user[channel] = nil; else user = nil; end
	if not user or not next(user) then presence_cache[username] = nil; end
end

-- Presence from a joined channel's proxy JIDs, to a user's bare JID. Prosody's
-- mod_presence delivers it to every available resource; we only remember it.
module:hook("presence/bare", function (event)
	local stanza = event.stanza;
	local t = stanza.attr.type;
	if t ~= nil and t ~= "unavailable" then return; end
	local to, from = stanza.attr.to, stanza.attr.from;
	if not to or not from then return; end
	local username, to_host = jid_split(to);
	if to_host ~= host or not username then return; end
	local channel = channel_of_proxy(from);
	if not channel or not joined_channel(username, channel) then return; end
	module:log("debug", "Presence %s from %s (channel %s) to %s", t or "available", from, channel, to);
	local user = presence_cache[username];
	if t == "unavailable" then
		if user and user[channel] then
			user[channel][from] = nil;
			if not next(user[channel]) then user[channel] = nil; end
			if not next(user) then presence_cache[username] = nil; end
		end
	else
		if not user then user = {}; presence_cache[username] = user; end
		local ch = user[channel];
		if not ch then ch = {}; user[channel] = ch; end
		ch[from] = st.clone(stanza);
	end
	-- fall through: mod_presence delivers it
end, 20);

-- Ask a channel for its whole presence node (XEP-0405 2.9.3): a directed
-- available presence from the user's bare JID. The answers come as presence
-- to the bare JID and are remembered by the hook above.
local function refresh_channel_presence(username, channel)
	local user = refreshed[username];
	if not user then user = {}; refreshed[username] = user; end
	if user[channel] then return; end
	user[channel] = true;
	module:log("debug", "Asking %s for its presence on behalf of %s@%s", channel, username, host);
	module:send(st.presence({ from = jid_join(username, host), to = channel }));
end

-- A resource comes online: give it the channel presence we know, and ask
-- channels we know nothing of yet (after a restart, or presence shared
-- while we were not listening).
module:hook("presence/initial", function (event)
	local origin = event.origin;
	if not origin.username then return; end
	local user = presence_cache[origin.username];
	if user then
		for _, ch in pairs(user) do
			for _, pres in pairs(ch) do
				local copy = st.clone(pres);
				copy.attr.to = origin.full_jid;
				origin.send(copy);
			end
		end
	end
	for channel, record in pairs(get_channels(origin.username)) do
		if record.presence and not (user and user[channel]) then
			refresh_channel_presence(origin.username, channel);
		end
	end
end);

---------------------------------------------------------------------------
-- client-join / client-leave (XEP-0405 2.7, 2.8)
---------------------------------------------------------------------------

-- pending[user_bare .. " " .. channel .. " " .. id] = request
local pending = {};

local function pending_key(user_bare, channel, id)
	return user_bare .. " " .. channel .. " " .. (id or "");
end

local function reply_to_client(request, reply)
	if not request.full_jid then return; end -- internal request (account deletion)
	local session = full_sessions[request.full_jid];
	if not session then
		module:log("debug", "%s went away before the answer from %s", request.full_jid, request.channel);
		return;
	end
	session.send(reply);
end

local function presence_subscribed(join_el)
	if not join_el then return nil; end
	local any = false;
	for sub in join_el:childtags("subscribe", xmlns_mix) do
		any = true;
		if sub.attr.node == node_presence then return true; end
	end
	if any then return false; end
	return nil; -- no <subscribe/> at all
end

local function participant_id_of(join_el)
	if not join_el then return nil; end
	local pid = join_el.attr.id;
	if (not pid or pid == "") and join_el.attr.jid then
		pid = join_el.attr.jid:match("^(.-)#"); -- 0.9.x: jid='123456#coven@mix.example'
	end
	if pid == "" then pid = nil; end
	return pid;
end

-- Send the current presence of the user's MIX (or unknown) resources to a
-- channel that just started sharing presence.
local function share_current_presence(username, channel)
	local user = bare_sessions[jid_join(username, host)];
	if not user then return; end
	for _, session in pairs(user.sessions) do
		if session.presence and session.mix_pam_caps ~= false then
			local pres = strip_delay(st.clone(session.presence));
			pres.attr.from, pres.attr.to = session.full_jid, channel;
			module:send(pres, session);
		end
	end
end

local function handle_join_result(request, result)
	local username, channel = request.username, request.channel;
	local join_el = result:get_child("join", xmlns_mix);
	local pid = participant_id_of(join_el);
	local shares = presence_subscribed(join_el);
	if shares == nil then shares = presence_subscribed(request.inner) or false; end

	local channels = get_channels(username);
	channels[channel] = { id = pid, presence = shares, joined = os.time() };
	save_channels(username, channels);

	local ok, err = roster_set_channel(username, channel, shares and "from" or "none");
	if not ok then
		module:log("error", "Could not add %s to the roster of %s@%s: %s", channel, username, host, tostring(err));
	end
	module:log("info", "%s@%s joined MIX channel %s (participant id %s, presence %s)",
		username, host, channel, tostring(pid), shares and "shared" or "not shared");
	if shares then share_current_presence(username, channel); end

	if not request.stanza then return; end
	local reply = st.reply(request.stanza);
	reply.attr.from = request.user_bare;
	reply:tag("client-join", { xmlns = xmlns_pam });
	if join_el then
		reply:add_child(st.clone(join_el));
	else
		reply:tag("join", { xmlns = xmlns_mix, id = pid }):up();
	end
	reply:up();
	reply_to_client(request, reply);
end

local function forget_channel(username, channel)
	local channels = get_channels(username);
	if channels[channel] then
		channels[channel] = nil;
		save_channels(username, channels);
	end
	forget_channel_presence(username, channel);
	local ok, err = roster_remove_channel(username, channel);
	if not ok then
		module:log("error", "Could not remove %s from the roster of %s@%s: %s", channel, username, host, tostring(err));
	end
end

local function handle_leave_result(request, result)
	local username, channel = request.username, request.channel;
	forget_channel(username, channel);
	module:log("info", "%s@%s left MIX channel %s", username, host, channel);
	if not request.stanza then return; end -- internal request (account deletion)
	local reply = st.reply(request.stanza);
	reply.attr.from = request.user_bare;
	reply:tag("client-leave", { xmlns = xmlns_pam });
	local leave_el = result:get_child("leave", xmlns_mix);
	reply:add_child(leave_el and st.clone(leave_el) or st.stanza("leave", { xmlns = xmlns_mix }));
	reply:up();
	reply_to_client(request, reply);
end

-- The <error/> child of an error stanza, whatever namespace the sender put
-- on it (some component libraries write xmlns='jabber:client' in a
-- component stream, which stanza:get_error() does not see).
-- Returns a copy fit for a client stream, the type, condition and text.
local function find_error(response)
	for _, tag in ipairs(response.tags) do
		if tag.name == "error" then
			local el = st.clone(tag);
			el.attr.xmlns = nil;
			local condition, text;
			for child in tag:childtags(nil, xmlns_stanzas) do
				if child.name == "text" then
					text = child:get_text();
				elseif not condition then
					condition = child.name;
				end
			end
			return el, tag.attr.type, condition, text;
		end
	end
	return nil;
end

local function handle_error(request, response)
	local username, channel = request.username, request.channel;
	local error_el, err_type, condition, text = find_error(response);
	module:log("info", "MIX %s of %s@%s to %s failed: %s/%s%s", request.op, username, host, channel,
		tostring(err_type), tostring(condition), text and (" (" .. text .. ")") or "");
	if request.op == "leave" and condition == "item-not-found" then
		-- The channel is gone or does not know us: do not keep a dead channel.
		forget_channel(username, channel);
	end
	if not request.stanza then return; end
	local reply = st.reply(request.stanza);
	reply.attr.from = request.user_bare;
	reply.attr.type = "error";
	if error_el then
		reply:add_child(error_el);
	else
		reply = st.error_reply(request.stanza, "cancel", "undefined-condition");
		reply.attr.from = request.user_bare;
	end
	reply_to_client(request, reply);
end

local function send_to_channel(request)
	local key = pending_key(request.user_bare, request.channel, request.id);
	if pending[key] then
		return nil, "conflict";
	end
	pending[key] = request;
	request.timer = module:add_timer(iq_timeout, function ()
		if pending[key] ~= request then return; end
		pending[key] = nil;
		module:log("info", "No answer from %s to the MIX %s of %s within %ds", request.channel, request.op,
			request.user_bare, iq_timeout);
		if request.stanza then
			local reply = st.error_reply(request.stanza, "wait", "remote-server-timeout",
				"No answer from the channel");
			reply.attr.from = request.user_bare;
			reply_to_client(request, reply);
		end
	end);
	local iq = st.iq({ type = "set", from = request.user_bare, to = request.channel, id = request.id })
		:add_child(st.clone(request.inner));
	module:log("debug", "Sending MIX %s of %s to %s (id %s)", request.op, request.user_bare, request.channel, request.id);
	module:send(iq);
	return true;
end

-- Answers from channels to users' bare JIDs
module:hook("iq/bare", function (event)
	local stanza = event.stanza;
	local t = stanza.attr.type;
	if t ~= "result" and t ~= "error" then return; end
	local to, from = stanza.attr.to, stanza.attr.from;
	if not to or not from then return; end
	local key = pending_key(jid_prep(to) or to, jid_prep(from) or from, stanza.attr.id);
	local request = pending[key];
	if not request then return; end
	pending[key] = nil;
	if request.timer then request.timer:stop(); end
	if t == "error" then
		handle_error(request, stanza);
	elseif request.op == "join" then
		handle_join_result(request, stanza);
	else
		handle_leave_result(request, stanza);
	end
	return true;
end, 10);

local function handle_client_request(event, op)
	local origin, stanza = event.origin, event.stanza;
	if origin.type ~= "c2s" or not origin.username then
		origin.send(st.error_reply(stanza, "cancel", "not-allowed"));
		return true;
	end
	local wrapper = stanza.tags[1];
	local channel = wrapper.attr.channel and jid_prep(wrapper.attr.channel);
	local inner = wrapper:get_child(op, xmlns_mix);
	if not channel or not jid_split(channel) or channel ~= jid_bare(channel) then
		origin.send(st.error_reply(stanza, "modify", "bad-request", "Missing or invalid 'channel' attribute"));
		return true;
	end
	if not inner then
		origin.send(st.error_reply(stanza, "modify", "bad-request",
			"Expected a <" .. op .. " xmlns='" .. xmlns_mix .. "'/> child"));
		return true;
	end
	if not stanza.attr.id then
		origin.send(st.error_reply(stanza, "modify", "bad-request", "Missing IQ id"));
		return true;
	end
	local user_bare = jid_join(origin.username, host);
	if jid_lib.host(channel) == host then
		origin.send(st.error_reply(stanza, "cancel", "bad-request", "Not a MIX channel"));
		return true;
	end
	local ok, err = send_to_channel({
		op = op, username = origin.username, user_bare = user_bare, full_jid = origin.full_jid,
		channel = channel, id = stanza.attr.id, stanza = stanza, inner = inner,
	});
	if not ok then
		origin.send(st.error_reply(stanza, "modify", err or "conflict", "A request with this id is already pending"));
	end
	return true;
end

module:hook("iq-set/self/" .. xmlns_pam .. ":client-join", function (event)
	return handle_client_request(event, "join");
end);
module:hook("iq-set/self/" .. xmlns_pam .. ":client-leave", function (event)
	return handle_client_request(event, "leave");
end);

---------------------------------------------------------------------------
-- Messages from channels (XEP-0405 2.2, 2.11)
---------------------------------------------------------------------------

-- Send a copy, addressed to the full JID, to each resource that wants MIX
-- traffic (see wants_mix). Returns how many got one.
local function deliver_to_mix_resources(stanza)
	local user = bare_sessions[stanza.attr.to];
	local delivered = 0;
	if not user then return delivered; end
	for _, session in pairs(user.sessions) do
		if wants_mix(session) then
			local copy = st.clone(stanza);
			copy.attr.to = session.full_jid;
			session.send(copy);
			delivered = delivered + 1;
		end
	end
	return delivered;
end

-- mod_mam does not archive type=groupchat by default; it does for joined
-- channels. The archive's 'with' is the channel's bare JID.
module:hook("archive-should-store", function (event)
	local stanza = event.stanza;
	if stanza.name ~= "message" or stanza.attr.type ~= "groupchat" then return; end
	if from_joined_channel(stanza) then
		event.reason = "mix";
		return true;
	end
end, 10);

-- Once archived, mod_carbons would copy the message (it carries our
-- stanza-id) to carbons-enabled resources. We deliver to each MIX resource
-- ourselves, so no carbons.
module:hook("carbons-should-copy", function (event)
	local stanza = event.stanza;
	if stanza.name ~= "message" or stanza.attr.type ~= "groupchat" then return; end
	if from_joined_channel(stanza) then
		event.reason = "mix";
		return false;
	end
end, 10);

-- mod_message fires this for type=groupchat to the bare JID of an existing
-- user, after mod_mam (priority 0) has archived it and added its stanza-id.
-- Returning nothing lets mod_message bounce it (not a joined channel).
-- Priority -10: let other listeners (e.g. mod_cloud_notify) see it first.
module:hook("message/bare/groupchat", function (event)
	local stanza = event.stanza;
	local username, channel = from_joined_channel(stanza);
	if not username then return; end
	local delivered = deliver_to_mix_resources(stanza);
	module:log("debug", "MIX message %s from %s (channel %s) to %s delivered to %d resource(s)",
		tostring(stanza.attr.id), tostring(stanza.attr.from), channel, stanza.attr.to, delivered);
	return true;
end, -10);

-- Channel node notifications (participants, info... XEP-0369 sends them as
-- <message><event xmlns='http://jabber.org/protocol/pubsub#event'/></message>
-- from the channel's bare JID to the participant's bare JID). Without this
-- they would go to the top-priority resources only, or to offline storage.
-- They go to the same resources as channel messages, and are dropped when
-- none is online. Priority -0.75: after mod_mam (0) and mod_carbons (-0.5),
-- before mod_message (-1).
module:hook("message/bare", function (event)
	local stanza = event.stanza;
	local t = stanza.attr.type;
	if t == "groupchat" or t == "error" or t == "chat" then return; end
	if not stanza:get_child("event", xmlns_pubsub_event) then return; end
	local username, channel = from_joined_channel(stanza);
	if not username or stanza.attr.from ~= channel then return; end
	local delivered = deliver_to_mix_resources(stanza);
	module:log("debug", "Node notification from %s to %s delivered to %d resource(s)", channel, stanza.attr.to, delivered);
	return true;
end, -0.75);

---------------------------------------------------------------------------
-- Account deletion: leave every channel
---------------------------------------------------------------------------

module:hook_global("user-deleted", function (event)
	if event.host ~= host then return; end
	local username = event.username;
	local user_bare = jid_join(username, host);
	local channels = get_channels(username);
	for channel in pairs(channels) do
		module:log("info", "Account %s deleted, leaving MIX channel %s", user_bare, channel);
		send_to_channel({
			op = "leave", username = username, user_bare = user_bare, channel = channel,
			id = "mixpam-leave-" .. new_id(), inner = st.stanza("leave", { xmlns = xmlns_mix }),
		});
	end
	channels_cache:set(username, nil);
	presence_cache[username] = nil;
	refreshed[username] = nil;
	store:set(username, nil);
end);

---------------------------------------------------------------------------
-- Module lifecycle
---------------------------------------------------------------------------

function module.unload()
	for _, session in pairs(full_sessions) do
		if session.host == host then
			-- keep the session flags: a reload re-adds the filter below
			filters.remove_filter(session, "stanzas/out", annotate_filter);
		end
	end
	for key, request in pairs(pending) do
		if request.timer then request.timer:stop(); end
		pending[key] = nil;
	end
end

-- Annotation survives a module reload for sessions that asked for it, but
-- the filter does not: re-add it.
for _, session in pairs(full_sessions) do
	if session.host == host and session.mix_pam_annotate then
		filters.add_filter(session, "stanzas/out", annotate_filter, 1);
	end
end

module:log("debug", "MIX-PAM loaded (unknown caps policy: %s, timeout %ds)", unknown_caps_policy, iq_timeout);
