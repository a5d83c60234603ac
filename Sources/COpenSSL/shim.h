// OpenSSL 3's libcrypto (Debian libssl-dev): the SM2, SM3 and SM4 of China's commercial
// cryptography standards, which swift-crypto does not offer.
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
