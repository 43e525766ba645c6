-- mod_component_multicast: XEP-0033 (Extended Stanza Addressing) multicast for
-- trusted components.
--
-- A component (e.g. mixmuc) sends ONE <message/> or <presence/> to this host,
-- with an <addresses xmlns='http://jabber.org/protocol/address'/> listing the
-- recipients. Each recipient gets the stanza the component would have sent it
-- directly: same name, attributes and payloads, 'to' = the recipient, without
-- the bcc addresses. Each copy is routed by core_post_stanza with the
-- component's session as origin, exactly what Prosody does for a stanza the
-- component sends to that JID itself (core_process_stanza ->
-- core_post_stanza), so mod_message, mod_mam, mod_carbons, mod_offline,
-- mod_mix_pam, s2s... behave the same.
--
-- Load it on the VirtualHost whose domain the component uses as multicast
-- service (modules_enabled). Options (per host or global):
--   component_multicast_from           = { "muc.example.org" } -- default: any component
--   component_multicast_max_recipients = 10000
--
-- Compact form (this module's own extension, announced as the disco feature
-- urn:mixmuc:recipients:0): instead of <addresses/>, the stanza carries
--   <recipients xmlns='urn:mixmuc:recipients:0'>JID LF JID LF ...</recipients>
-- the recipients' JIDs separated by line feeds (a JID never contains a control
-- character), every one a bcc recipient; the element is removed from the copies.
-- Prosody builds no element per recipient, which is most of what parsing a
-- large <addresses/> costs. Same checks and delivery as the XEP-0033 form.
--
-- Written for Prosody 0.12 (Lua 5.4); uses only APIs Prosody 13 still has.

local st = require "util.stanza";
local jid_prep = require "util.jid".prep;

local xmlns_address = "http://jabber.org/protocol/address";
local xmlns_recipients = "urn:mixmuc:recipients:0";

local full_sessions = prosody.full_sessions;
local bare_sessions = prosody.bare_sessions;
local hosts = prosody.hosts;
local core_post_stanza = prosody.core_post_stanza;
local st_clone = st.clone;

local allowed_from, max_recipients;
local function load_options()
	allowed_from = module:get_option_set("component_multicast_from"); -- nil: any component
	max_recipients = module:get_option_number("component_multicast_max_recipients", 10000);
end
load_options();
module:hook_global("config-reloaded", load_options);

module:add_feature(xmlns_address);
module:add_feature(xmlns_recipients);

-- Address types that name a recipient (XEP-0033 §4.6); the others
-- (replyto, replyroom, noreply, extensions) are information for the recipients.
local delivery_types = { to = true, cc = true, bcc = true };

-- Never answer an error with an error.
local function refuse(origin, stanza, err_type, condition, text)
	if stanza.attr.type == "error" then
		module:log("debug", "Dropping multicast error stanza from %s: %s", stanza.attr.from, text);
	elseif origin.send then
		origin.send(st.error_reply(stanza, err_type, condition, text));
	end
	return true;
end

-- The JID as core_process_stanza would normalise a 'to' from a component; nil if invalid.
local function normalise(jid)
	if full_sessions[jid] or bare_sessions[jid] or hosts[jid] then
		return jid;
	end
	return jid_prep(jid);
end

-- The compact form's recipients: the list, its length, or nil and a refusal.
local function compact_recipients(origin, stanza, list)
	local recipients, n, seen = {}, 0, {};
	for jid in list:get_text():gmatch("[^\n]+") do
		local to = normalise(jid);
		if not to then
			return nil, refuse(origin, stanza, "modify", "jid-malformed", "Invalid recipient: "..jid);
		end
		if not seen[to] then
			seen[to] = true;
			n = n + 1;
			if n > max_recipients then
				return nil, refuse(origin, stanza, "modify", "not-acceptable",
					"Too many recipients (at most "..max_recipients..")");
			end
			recipients[n] = to;
		end
	end
	if n == 0 then
		return nil, refuse(origin, stanza, "modify", "bad-request", "No recipient to deliver to");
	end
	return recipients, n;
end

-- Delivers STANZA to each of RECIPIENTS[1..N].
local function deliver(origin, stanza, recipients, n)
	-- Like mod_muc's route_to_occupant, one object serves every online full JID,
	-- with only 'to' changed: on that path (session.send; mod_carbons, mod_mam,
	-- mod_smacks, mod_csi_simple) Prosody serialises it at once or clones what
	-- it keeps. Anything else may be stored (offline, MAM via mod_mix_pam,
	-- pending subscriptions...), so it gets its own clone.
	local stanza_type = stanza.attr.type;
	local reusable = stanza.name == "message" or stanza_type == nil or stanza_type == "unavailable";
	local outer_to, reused = stanza.attr.to, 0;
	for i = 1, n do
		local to = recipients[i];
		local copy;
		if reusable and full_sessions[to] then
			copy, reused = stanza, reused + 1;
		else
			copy = st_clone(stanza);
		end
		copy.attr.to = to;
		core_post_stanza(origin, copy);
	end
	stanza.attr.to = outer_to;
	module:log("debug", "Multicast %s from %s to %d recipients (%d cloned)", stanza.name,
		stanza.attr.from, n, n - reused);
	return true;
end

local function handle_multicast(event)
	local origin, stanza = event.origin, event.stanza;
	local list = stanza:get_child("recipients", xmlns_recipients);
	local addresses = not list and stanza:get_child("addresses", xmlns_address);
	if not (list or addresses) then return; end -- not ours

	if origin.type ~= "component" or (allowed_from and not allowed_from:contains(origin.host)) then
		module:log("warn", "Refused multicast %s from %s (%s session of %s)", stanza.name,
			stanza.attr.from, origin.type, origin.host or origin.to_host or "?");
		return refuse(origin, stanza, "auth", "forbidden", "This multicast service is only for trusted components");
	end

	if list then
		local recipients, n = compact_recipients(origin, stanza, list);
		if not recipients then return true; end
		stanza:maptags(function (tag)
			if tag.name == "recipients" and tag.attr.xmlns == xmlns_recipients then return nil; end
			return tag;
		end);
		return deliver(origin, stanza, recipients, n);
	end

	-- Check every address first: deliver to all of them or to none (XEP-0033 §6 step 5).
	local recipients, n, seen = {}, 0, {};
	local kept, already_delivered = nil, false; -- non-bcc addresses shown to the recipients
	for _, address in ipairs(addresses.tags) do
		if address.name == "address" and (address.attr.xmlns == nil or address.attr.xmlns == xmlns_address) then
			local attr = address.attr;
			local addr_type, jid = attr.type, attr.jid;
			if not addr_type then
				return refuse(origin, stanza, "modify", "bad-request", "An <address/> has no 'type'");
			end
			if jid and attr.uri then
				return refuse(origin, stanza, "modify", "bad-request", "An <address/> has both 'jid' and 'uri'");
			end
			local delivers = delivery_types[addr_type] and attr.delivered ~= "true";
			if delivers then
				if attr.uri then
					return refuse(origin, stanza, "modify", "jid-malformed", "'uri' addresses are not supported: "..attr.uri);
				elseif not jid then
					return refuse(origin, stanza, "modify", "bad-request", "An <address type='"..addr_type.."'/> has no 'jid'");
				end
				local to = normalise(jid);
				if not to then
					return refuse(origin, stanza, "modify", "jid-malformed", "Invalid address: "..jid);
				end
				if not seen[to] then
					seen[to] = true;
					n = n + 1;
					if n > max_recipients then
						return refuse(origin, stanza, "modify", "not-acceptable",
							"Too many recipients (at most "..max_recipients..")");
					end
					recipients[n] = to;
				end
			elseif delivery_types[addr_type] then
				already_delivered = true;
			end
			if addr_type ~= "bcc" then
				local shown = st_clone(address);
				if delivers then shown.attr.delivered = "true"; end
				kept = kept or {};
				kept[#kept+1] = shown;
			end
		end
	end
	if n == 0 then
		if already_delivered then
			module:log("debug", "Multicast %s from %s: every address was already delivered", stanza.name, stanza.attr.from);
			return true;
		end
		return refuse(origin, stanza, "modify", "bad-request", "No address to deliver to");
	end

	-- The stanza itself becomes the template: the component's <addresses/> is
	-- replaced by the one recipients may see (to/cc marked delivered), or removed.
	local replacement;
	if kept then
		replacement = st.stanza("addresses", { xmlns = xmlns_address });
		for i = 1, #kept do replacement:add_direct_child(kept[i]); end
	end
	local replaced = false;
	stanza:maptags(function (tag)
		if tag.name == "addresses" and tag.attr.xmlns == xmlns_address then
			if replacement and not replaced then
				replaced = true;
				return replacement;
			end
			return nil;
		end
		return tag;
	end);

	return deliver(origin, stanza, recipients, n);
end

module:hook("message/host", handle_multicast, 10);
module:hook("presence/host", handle_multicast, 10);
