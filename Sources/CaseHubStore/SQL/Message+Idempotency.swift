import CaseHubCore

extension Message {
    /// Whether posting `new` to `thread` of `caseId` asks for this message again, as a retry
    /// with the same Idempotency-Key does. Once the message has been edited or redacted its text
    /// no longer tells, and only where it was posted is compared.
    func repeats(_ new: NewMessage, caseId: String, thread: ThreadName) -> Bool {
        guard self.caseId == caseId, self.thread == thread, kind == new.kind else { return false }
        return editedAt != nil || redacted || (body == new.body && data.canonicalString == new.data.canonicalString)
    }
}
