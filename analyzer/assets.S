/* assets.S - the flamegraph page's files (analyzer/flamegraph/), embedded
 * into the memtap binary as NUL-terminated byte arrays (see fg_page.h). */
    .section .rodata
    .global mt_asset_page_html, mt_asset_page_js, mt_asset_page_css
    .type mt_asset_page_html, @object
mt_asset_page_html:
    .incbin "analyzer/flamegraph/page.html"
    .byte 0
    .type mt_asset_page_js, @object
mt_asset_page_js:
    .incbin "analyzer/flamegraph/page.js"
    .byte 0
    .type mt_asset_page_css, @object
mt_asset_page_css:
    .incbin "analyzer/flamegraph/page.css"
    .byte 0
    .section .note.GNU-stack, "", @progbits
