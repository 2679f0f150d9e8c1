import Foundation
import PasserelleEvents

/// Sample customer journeys for the demo: browse on the web, sign up, buy in a store.
///
/// Journey 1 of DESIGN.md, over and over with new customers: an anonymous visitor views mountain
/// bikes on the web, identifies with an email and opts in to email marketing, then buys the bike
/// in a store with a loyalty card. Every event of a customer carries the same partition key.
struct SampleJourneys {
  private var customer = 0
  private let source = "passerelle-demo"
  private let skus = ["BIKE-MTB-29", "BIKE-MTB-27", "HELMET-ENDURO", "PUMP-TRACK", "LIGHT-USB"]

  /// The events of the next customer's journey, in order.
  mutating func next() throws -> [CloudEvent] {
    customer += 1
    let key = "demo-customer-\(customer)"
    let anonymous = CustomerIdentity(kind: .anonymousId, value: "anon-\(UUID().uuidString.prefix(8))")
    let email = CustomerIdentity(kind: .email, value: "shopper\(customer)@example.com")
    let card = CustomerIdentity(kind: .loyaltyCard, value: "LC\(100_000 + customer)")
    let price = Money(amountMinor: 129_900, currency: "EUR")
    var events: [CloudEvent] = []
    for sku in skus.prefix(2 + customer % 3) {
      events.append(
        try CloudEvent(
          source: source, subject: key, partitionKey: key,
          payload: ProductViewed(
            identity: anonymous, customerKey: key, channel: .web, sku: sku, categoryId: "mtb")))
    }
    events.append(
      try CloudEvent(
        source: source, subject: key, partitionKey: key,
        payload: CustomerIdentified(
          customerKey: key, identities: [anonymous, email, card], channel: .web, isNewCustomer: true)))
    events.append(
      try CloudEvent(
        source: source, subject: key, partitionKey: key,
        payload: PosPurchaseCompleted(
          transaction: PosTransactionKey(
            storeId: "store-lyon-1", workstationId: "till-3", businessDay: Self.today,
            sequenceNumber: Int64(customer)),
          customerKey: key, identity: card, items: [LineItem(sku: skus[0], quantity: 1, unitPrice: price)],
          total: price,
          couponCodes: [])))
    return events
  }

  private static var today: String {
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyy-MM-dd"
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: Date())
  }
}
