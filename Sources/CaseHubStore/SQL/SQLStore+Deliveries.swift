import CaseHubCore


extension SQLStore {
    public func deliveryBacklog() async throws -> [DeliveryBacklog] {
        try await read { db in
            // Delivered rows, the bulk of the table, are left out: the status index skips them.
            // Rows of a disabled endpoint wait for nothing until it is enabled again, so they
            // count without making the backlog look overdue.
            try db.fetch(
                """
                SELECT channel, status, count(*),
                    min(CASE WHEN endpoint_id IS NULL OR endpoint_id IN (SELECT id FROM endpoints WHERE enabled = 1) THEN next_attempt_ms END)
                FROM deliveries
                WHERE status IN ('pending', 'failed', 'dead') GROUP BY channel, status ORDER BY channel, status
                """, as: RowDecoding.deliveryBacklog)
        }
    }

    public func deliveries(_ query: DeliveryQuery) async throws -> [Delivery] {
        try await read { db in
            var conditions: [String] = []
            var arguments: [any SQLArgument] = []
            if let status = query.status {
                conditions.append("status = ?")
                arguments.append(contentsOf: [status.rawValue])
            }
            if let caseId = query.caseId {
                conditions.append("case_id = ?")
                arguments.append(contentsOf: [caseId])
            }
            if let endpointId = query.endpointId {
                conditions.append("endpoint_id = ?")
                arguments.append(contentsOf: [endpointId])
            }
            if let threads = query.threads {
                let names = threads.map(\.rawValue).sorted()
                let placeholders = Array(repeating: "?", count: names.count).joined(separator: ", ")
                conditions.append(names.isEmpty ? "1 = 0" : "thread IN (\(placeholders))")
                arguments.append(contentsOf: names)
            }
            if let before = query.before {
                conditions.append("id < ?")
                arguments.append(contentsOf: [before])
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments.append(contentsOf: [query.limit])
            return try db.fetch("SELECT \(Columns.delivery) FROM deliveries \(filter) ORDER BY id DESC LIMIT ?", arguments, as: RowDecoding.deliveryValue)
        }
    }

    public func delivery(id: String) async throws -> Delivery? {
        try await read { db in try db.row("SELECT \(Columns.delivery) FROM deliveries WHERE id = ?", [id]).map(RowDecoding.deliveryValue) }
    }

    public func retryDelivery(id: String) async throws -> Delivery {
        try await write(announcing: { _ in CommitNews(items: [.deliveriesQueued]) }) { db in
            guard let row = try db.row("SELECT lease_until_ms FROM deliveries WHERE id = ?", [id]) else {
                throw CaseHubError.notFound("no such delivery")
            }
            if let leaseUntil = row[0] as Int64?, leaseUntil > Int64(Timestamp.nowMillis()) {
                throw CaseHubError.conflict("the delivery is being sent now; retry it once this attempt is recorded")
            }
            try db.run(
                """
                UPDATE deliveries SET status = CASE WHEN attempt_count = 0 THEN 'pending' ELSE 'failed' END,
                    next_attempt_ms = ?, schedule_base = attempt_count
                WHERE id = ?
                """,
                [Int64(Timestamp.nowMillis()), id])
            return try Self.requireDelivery(id: id, db: db)
        }
    }

    public func claimDeliveries(_ claim: DeliveryClaim) async throws -> [ClaimedDelivery] {
        let leased = try await leaseDueDeliveries(claim)
        guard !leased.isEmpty else { return [] }
        do {
            // The rows are this instance's now: what sending needs is read outside the writer.
            return try await read { db in
                var endpoints = EndpointLookup()
                return try leased.map { id in
                    guard let row = try db.row("SELECT \(Columns.delivery) FROM deliveries WHERE id = ?", [id]) else {
                        throw CorruptRow(description: "deliveries: \(id) vanished while being claimed")
                    }
                    return try self.claimed(
                        try RowDecoding.deliveryValue(row), attemptCount: row[14], scheduleBase: row[15], nowMillis: claim.nowMillis,
                        endpoints: &endpoints, db: db)
                }
            }
        } catch {
            try? await releaseDeliveryClaims(ids: leased)
            throw error
        }
    }

    /// Leases due rows to this instance and returns their ids.
    private func leaseDueDeliveries(_ claim: DeliveryClaim) async throws -> [String] {
        // Unsynced: after a crash every lease is freed at start, so losing one loses nothing.
        try await writeUnsynced { db in
            let now = Int64(claim.nowMillis)
            // One indexed query per target (each enabled endpoint, and the SMTP server) for at
            // most its free slots: a backlog for one busy endpoint costs nothing per claim,
            // and one endpoint's rows never crowd out another's.
            // E-mail first, then the endpoints from a random place in their list, so that when
            // the overall limit binds no target is always last.
            var targets: [String] = claim.channels.contains(.email) ? [ClaimedDelivery.smtpConcurrencyKey] : []
            if claim.channels.contains(.webhook) {
                let endpoints = try db.fetch("SELECT id FROM endpoints WHERE enabled = 1 ORDER BY id", as: { $0[0] as String })
                let start = endpoints.isEmpty ? 0 : Int.random(in: 0..<endpoints.count)
                targets += endpoints[start...] + endpoints[..<start]
            }
            var picked: [String] = []
            for target in targets where picked.count < claim.limit {
                let slots = min(claim.freeSlots[target] ?? claim.perTargetLimit, claim.limit - picked.count)
                guard slots > 0 else { continue }
                let email = target == ClaimedDelivery.smtpConcurrencyKey
                let arguments: [any SQLArgument] = (email ? [] : [target]) + [now, now, slots]
                picked += try db.fetch(
                    """
                    SELECT id FROM deliveries
                    WHERE \(email ? "endpoint_id IS NULL" : "endpoint_id = ?")
                        AND next_attempt_ms <= ? AND (lease_until_ms IS NULL OR lease_until_ms < ?)
                    ORDER BY next_attempt_ms LIMIT ?\(db.dialect.claimingRead)
                    """,
                    arguments, as: { $0[0] as String })
            }
            for id in picked {
                try db.run("UPDATE deliveries SET lease_until_ms = ?, lease_owner = ? WHERE id = ?", [now + Int64(claim.leaseMillis), self.leaseOwner, id])
            }
            return picked
        }
    }

    public func releaseDeliveryClaims(ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await writeUnsynced { db in
            for id in ids {
                try db.run("UPDATE deliveries SET lease_until_ms = NULL, lease_owner = NULL WHERE id = ? AND lease_owner = ?", [id, self.leaseOwner])
            }
        }
    }

    public func recordAttempts(_ records: [AttemptRecord]) async -> [UnrecordedAttempt] {
        // One transaction per case (its log entries chain one after another); the cases'
        // transactions go to the store together.
        let byCase = Dictionary(grouping: records, by: \.caseId)
        return await withTaskGroup(of: [UnrecordedAttempt].self) { group in
            for (caseId, records) in byCase {
                group.addTask { await self.recordAttempts(records, caseId: caseId) }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
    }

    private func recordAttempts(_ records: [AttemptRecord], caseId: String) async -> [UnrecordedAttempt] {
        do {
            let (unrecorded, disabledEndpoint) = try await changeCase(caseId, requireOpen: false) { log, db in
                var unrecorded: [UnrecordedAttempt] = []
                var disabledEndpoint = false
                for record in records {
                    switch try self.leasedDelivery(record, db: db) {
                    case .success(let delivery):
                        if try self.record(record, of: delivery, log: &log, db: db) { disabledEndpoint = true }
                    case .failure(let refusal):
                        unrecorded.append(UnrecordedAttempt(deliveryId: record.deliveryId, error: refusal))
                    }
                }
                return (unrecorded, disabledEndpoint)
            }
            // Again once committed: the cache must hold what the database holds.
            if disabledEndpoint { outbox.endpointsChanged() }
            return unrecorded
        } catch {
            outbox.endpointsChanged()  // the transaction may have disabled an endpoint, then rolled back
            return records.map { UnrecordedAttempt(deliveryId: $0.deliveryId, error: error) }
        }
    }

    /// The delivery an attempt is for, or why the attempt must not be recorded; checked
    /// before anything is written, so a refused attempt leaves the others' transaction whole.
    private func leasedDelivery(_ record: AttemptRecord, db: any SQLSession) throws -> Result<Delivery, CaseHubError> {
        guard let row = try db.row("SELECT \(Columns.delivery), lease_owner FROM deliveries WHERE id = ?", [record.deliveryId]) else {
            return .failure(.notFound("no such delivery"))
        }
        // A lease that ran out may have passed to another instance, which sends and records
        // the delivery itself.
        if let owner = row[17] as String?, owner != leaseOwner {  // the column after `Columns.delivery`
            return .failure(.conflict("the delivery's lease passed to another hub instance"))
        }
        return .success(try RowDecoding.deliveryValue(row))
    }

    /// Writes one attempt: the row's new state, the endpoint's health, and the `delivery.*`
    /// entry under the causing event. Returns whether the attempt disabled its endpoint.
    private func record(_ record: AttemptRecord, of delivery: Delivery, log: inout LogAppender, db: any SQLSession) throws -> Bool {
        let attempts = delivery.attempts + [record.attempt]
        let status = record.verdict.status
        let nextMillis: UInt64?
        let type: LogEntryType
        switch record.verdict {
        case .delivered: (nextMillis, type) = (nil, .deliverySucceeded)
        case .retry(let at): (nextMillis, type) = (at, .deliveryFailed)
        case .dead: (nextMillis, type) = (nil, .deliveryDead)
        }
        try db.run(
            """
            UPDATE deliveries SET status = ?, attempts = ?, attempt_count = attempt_count + 1, next_attempt_ms = ?, lease_until_ms = NULL,
                lease_owner = NULL
            WHERE id = ?
            """,
            [status.rawValue, JSONValue.array(attempts.map(\.json)).canonicalString, nextMillis.map { Int64($0) }, delivery.id])
        var data: [String: JSONValue] = [
            "delivery_id": .string(delivery.id), "event_id": .string(delivery.eventId), "channel": .string(delivery.channel.rawValue),
            "target": .string(delivery.target), "attempt": JSONValue(attempts.count), "code": JSONValue(record.attempt.code),
            "error": JSONValue(record.attempt.error), "duration_ms": JSONValue(record.attempt.durationMillis),
            "response": JSONValue(record.attempt.response),
            "next_attempt_at": JSONValue(nextMillis.map { Timestamp.format(millis: $0) }),
        ]
        var disabled: String?
        if let endpointId = delivery.endpointId {
            disabled = try Self.trackEndpointHealth(endpointId, record: record, at: Timestamp.nowMillis(), db: db)
            if disabled != nil { outbox.endpointsChanged() }
            data["endpoint_disabled"] = JSONValue(disabled)
        }
        try log.append(LogDraft(type: type, thread: delivery.thread, parentSeq: delivery.eventSeq, actor: .hub, data: data), at: Timestamp.now())
        return disabled != nil
    }

    public func deliveriesQueued() async {
        await outboxBell.wait()
    }

    // MARK: - Helpers

    /// Clears an endpoint's failure clock on success; on failure starts it, and disables the
    /// endpoint when it answered 410 or has failed without a success for too long. Returns
    /// why it was disabled, if it was.
    static func trackEndpointHealth(_ endpointId: String, record: AttemptRecord, at nowMillis: UInt64, db: any SQLSession) throws -> String? {
        if record.verdict == .delivered {
            // Most successes follow a success: then the row is left as it is, unwritten.
            try db.run("UPDATE endpoints SET failing_since_ms = NULL WHERE id = ? AND failing_since_ms IS NOT NULL", [endpointId])
            return nil
        }
        try db.run("UPDATE endpoints SET failing_since_ms = COALESCE(failing_since_ms, ?) WHERE id = ?", [Int64(nowMillis), endpointId])
        var reason = record.disableEndpoint
        if reason == nil, let since = try db.row("SELECT failing_since_ms FROM endpoints WHERE id = ? AND enabled = 1", [endpointId]),
            let sinceMillis = since[0] as Int64?, nowMillis >= UInt64(sinceMillis) + record.disableFailingAfterMillis
        {
            reason = "no successful delivery since \(Timestamp.format(millis: UInt64(sinceMillis)))"
        }
        guard let reason else { return nil }
        try db.run("UPDATE endpoints SET enabled = 0, disabled_reason = ? WHERE id = ?", [reason, endpointId])
        return reason
    }

    static func requireDelivery(id: String, db: any SQLSession) throws -> Delivery {
        guard let delivery = try db.row("SELECT \(Columns.delivery) FROM deliveries WHERE id = ?", [id]).map(RowDecoding.deliveryValue) else {
            throw CaseHubError.notFound("no such delivery")
        }
        return delivery
    }

    /// Gathers what sending needs: the causing entry, the endpoint or the recipient, the message.
    func claimed(
        _ delivery: Delivery, attemptCount: Int, scheduleBase: Int, nowMillis: UInt64, endpoints: inout EndpointLookup, db: any SQLSession
    ) throws -> ClaimedDelivery {
        guard let event = try db.row("SELECT \(Columns.logEntry) FROM log_entries WHERE case_id = ? AND seq = ?", [delivery.caseId, delivery.eventSeq])
            .map(RowDecoding.logEntry)
        else { throw CorruptRow(description: "deliveries: \(delivery.id) names a missing log entry") }
        var endpoint: EndpointTarget?
        if let endpointId = delivery.endpointId, let (current, secrets) = try endpoints.endpoint(endpointId, nowMillis: nowMillis, db: db) {
            // Judged again now: an endpoint whose roles or events changed since the row was
            // queued must not receive what it no longer subscribes to. A routing rule chose
            // its endpoints by role: for those only the roles count.
            let subscribed =
                delivery.reason == nil
                ? current.subscribes(to: event.type, audience: event.audience, policy: outbox.policy)
                : current.mayHear(audience: event.audience, policy: outbox.policy)
            endpoint = EndpointTarget(url: current.url, secrets: secrets, includeText: current.includeText, subscribed: subscribed)
        }
        let recipient = try delivery.participantId.flatMap { id in
            try db.row("SELECT \(Columns.participant) FROM participants WHERE id = ?", [id]).map(RowDecoding.participantValue)
        }
        // Thin webhooks carry ids only: the message is read for e-mail and opted-in text.
        let needsMessage = delivery.channel == .email || endpoint?.includeText == true
        let message = try event.data["message_id"]?.stringValue.flatMap { id in
            needsMessage ? try Self.loadMessage(caseId: delivery.caseId, id: id, db: db) : nil
        }
        return ClaimedDelivery(
            delivery: delivery, event: event, attemptNumber: attemptCount + 1, scheduleIndex: attemptCount - scheduleBase,
            endpoint: endpoint, recipient: recipient, message: message)
    }
}

/// The endpoints of one claim, each read once however many of its rows were claimed.
struct EndpointLookup {
    private var known: [String: (WebhookEndpoint, secrets: [String])?] = [:]

    /// The endpoint as it is now, and every secret that signs now (the current one first).
    mutating func endpoint(_ id: String, nowMillis: UInt64, db: any SQLSession) throws -> (WebhookEndpoint, secrets: [String])? {
        if let found = known[id] { return found }
        var found: (WebhookEndpoint, secrets: [String])?
        if let row = try db.row("SELECT \(Columns.endpoint) FROM endpoints WHERE id = ?", [id]) {
            var secrets: [String] = [row[10]]
            if let previous = row[11] as String?, let until = row[9] as Int64?, until > Int64(nowMillis) { secrets.append(previous) }
            found = (try RowDecoding.endpointValue(row), secrets)
        }
        known[id] = found
        return found
    }
}
