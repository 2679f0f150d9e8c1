import PasserelleRuntime
import Testing

@Suite struct RedactTests {
  @Test func emailKeepsFirstLetterAndDomain() {
    #expect(Redact.email("jane.doe@example.com") == "j***@example.com")
    #expect(Redact.email("not-an-email") == "***")
  }

  @Test func phoneKeepsLastTwoDigits() {
    #expect(Redact.phone("+33 6 12 34 56 78") == "***78")
    #expect(Redact.phone("123") == "***")
  }

  @Test func hashIsSHA256Prefix() {
    // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad (FIPS 180-4)
    #expect(Redact.hash("abc") == "ba7816bf8f01")
    // SHA-256("") = e3b0c442…, and a two-block message.
    #expect(Redact.hash("") == "e3b0c44298fc")
    #expect(Redact.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "248d6a61d206")
  }
}
